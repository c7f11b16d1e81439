"""Training a sweep's runs: which still need it, and running them here (threads a run, runs at
once) or as tasks on a Ray cluster, each with its output appended to its logdir's stdout.log."""
import concurrent.futures
import os
import pathlib
import shlex
import subprocess

from dreamer_lsp import config as config_lib
from dreamer_lsp import logdir as logdir_lib

REPO = pathlib.Path(__file__).resolve().parents[2]
# The threads of one run's math: TensorFlow's intra-op pool and OpenMP.
THREAD_VARS = ('OMP_NUM_THREADS', 'TF_NUM_INTRAOP_THREADS')


def to_train(run, root):
  """Whether a run still needs training: it is not done, or done at fewer steps than the sweep
  now asks for (then it says so: the run is extended)."""
  if not (run.logdir / 'done').exists():
    return True
  finished = logdir_lib.finished_steps(run.logdir)
  steps = config_lib.parse_args(run.args).steps
  if finished is None or finished >= steps:
    return False
  print(f'{run.logdir.relative_to(root)} is done at {finished} steps; the sweep asks for '
        f'{steps}: it is trained further.')
  return True


def execute(cmd, logdir, threads):
  """Run a training command with its output appended to LOGDIR/stdout.log; return the exit code,
  or None without starting it if another process trains in LOGDIR by now (another sweep
  command took the run since this one listed it)."""
  if logdir_lib.holder(logdir):
    return None
  env = {**os.environ, **dict.fromkeys(THREAD_VARS, str(threads))}
  with open(pathlib.Path(logdir) / 'stdout.log', 'a') as log:
    log.write(f'$ {shlex.join(cmd)}\n')
    log.flush()
    return subprocess.run(
        cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT).returncode


def run_local(runs, cmd, workers, threads):
  """Yield (run, exit code) as the runs finish, at most `workers` at once."""
  pool = concurrent.futures.ThreadPoolExecutor(workers)
  try:
    futures = {pool.submit(execute, cmd + run.args, run.logdir, threads): run for run in runs}
    for future in concurrent.futures.as_completed(futures):
      yield futures[future], future.result()
  finally:
    pool.shutdown(cancel_futures=True)  # On Ctrl-C, start no more runs.


def run_ray(runs, cmd, address, threads, gpus):
  """Yield (run, exit code) as the runs finish, each run a Ray task on the cluster."""
  import ray
  # Workers import this module by name: same paths on every node, so the repo is on their path.
  ray.init(address=address, runtime_env={'env_vars': {'PYTHONPATH': str(REPO)}})
  remote = ray.remote(num_cpus=threads, num_gpus=gpus)(execute)
  pending = {remote.remote(cmd + run.args, run.logdir, threads): run for run in runs}
  while pending:
    [ref], _ = ray.wait(list(pending))
    yield pending.pop(ref), ray.get(ref)


