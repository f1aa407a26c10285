"""coordbias.scheduler: run a list of resumable tasks, here or through submitit.

A task (the :class:`~coordbias.scheduler.execute.Task` protocol) says whether it is finished on
disk, where its lock and log are, and how to do it; the scheduler does the rest and knows
nothing of the study or the benchmark, which both run their work through it:

- :mod:`.execute`: the protocol and
  :func:`~coordbias.scheduler.execute.execute_task` (the lock, the threads, the log);
- :mod:`.launch`: jobs and threads (:func:`~coordbias.scheduler.launch.resolve_parallelism`),
  in this process (:func:`~coordbias.scheduler.launch.run_in_process`) or a fork-server child
  per task (:func:`~coordbias.scheduler.launch.run_local`), waiting for tasks another process
  holds (:func:`~coordbias.scheduler.launch.run_rounds`);
- :mod:`.cluster`: the same through submitit (the ``cluster`` extra);
- :mod:`.progress`: the progress line and :class:`~coordbias.scheduler.launch.Failure`, which
  every launcher reports through.
"""
