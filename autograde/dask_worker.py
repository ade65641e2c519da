"""What a Dask worker that grades loads at its start: `dask worker ADDRESS --preload autograde.dask_worker`.

Two things, both measured (README, "Grading on Dask"):

- Dask's sampling profiler is turned off. Every 10 ms it walks the stacks of the worker's
  threads, and a grading task is one thread waiting for its grading process for many
  seconds: on two cores the profiler cost about 10 s of CPU in a class of 12, a tenth of
  the grading itself. Dask reads this setting when the worker is created, after it has
  imported its preloads, so setting it here is in time. Nothing of the grading needs it.
- The grader (nbgrader's API among it, about 2 s) is imported now, when the worker
  starts, rather than by the first task it is given.
"""

import dask

dask.config.set({"distributed.worker.profile.enabled": False})


def dask_setup(worker):
    """Called by Dask once the worker has started."""
    from . import dask_pool  # noqa: F401  (its import is the point)
