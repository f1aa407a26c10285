"""``python -m coordbias.study.experiments.notsoclevr OUT.json``, deprecated: it runs
``coordbias notsoclevr-ablation OUT.json``, the ablation's command line."""

from coordbias.study.experiments.notsoclevr.ablation import main

raise SystemExit(main())
