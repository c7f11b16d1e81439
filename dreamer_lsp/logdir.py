"""What a logdir's files say about its run, read without TensorFlow: who writes it (the lock),
whether it finished and at which step, whether it holds a complete checkpoint, its evaluations."""
import datetime
import fcntl
import json
import os
import pathlib
import subprocess

import numpy as np

from dreamer_lsp import config as config_lib

REPO = pathlib.Path(__file__).resolve().parent.parent

# Files that only a run of train.py leaves: a logdir holding one has a run in it.
RUN_FILES = ('train_eps', 'eval_eps', 'metrics.jsonl', 'checkpoint', 'checkpoint.old', 'done')


class Busy(RuntimeError):
  """Another process holds the logdir's lock."""


def lock(logdir):
  """An exclusive lock on LOGDIR/.lock for as long as the returned file stays open; the OS
  drops it when the process ends, however it ends. The holder's PID is written into the file.
  Raises Busy naming the holder."""
  logdir = pathlib.Path(logdir)
  logdir.mkdir(parents=True, exist_ok=True)
  file = (logdir / '.lock').open('a+')
  try:
    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    file.seek(0)
    holder = file.read().strip() or 'unknown'
    file.close()
    raise Busy(
        f'{logdir} is in use by another run (PID {holder}); wait for it to end, or stop it, '
        'before running this command.') from None
  file.truncate(0)
  file.write(f'{os.getpid()}\n')
  file.flush()
  return file


def holder(logdir):
  """The PID (as written) of the process that holds LOGDIR's lock, a run training there now, or
  None. Takes the lock for an instant if it is free, so it never waits."""
  path = pathlib.Path(logdir) / '.lock'
  if not path.exists():
    return None
  with path.open() as file:
    try:
      fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
      return file.read().strip() or 'unknown'
  return None


def finished_steps(logdir):
  """The step at which the run finished: written into `done`, else (a `done` from before that)
  the last step of metrics.jsonl. None if not done or unknown."""
  logdir = pathlib.Path(logdir)
  try:
    text = (logdir / 'done').read_text().strip()
  except FileNotFoundError:
    return None
  if text.isdigit():
    return int(text)
  return last_logged_step(logdir)


def last_logged_step(logdir):
  """The last step of LOGDIR/metrics.jsonl, or None."""
  steps = []
  path = pathlib.Path(logdir) / 'metrics.jsonl'
  for line in path.read_text().splitlines() if path.exists() else []:
    try:
      steps.append(int(json.loads(line)['step']))
    except (ValueError, TypeError, KeyError):
      continue  # A line cut short by a kill.
  return max(steps, default=None)


def progress(logdir, steps):
  """The last logged step and whether it reaches `steps`: how a run without `done` (a collected
  copy) counts as finished, for the report and for train.py's check of transfer sources alike."""
  reached = last_logged_step(logdir) or 0
  return reached, reached >= steps


def mark_done(logdir, step):
  """Writes `done` with the finished step, atomically."""
  path = pathlib.Path(logdir) / 'done'
  temp = path.with_suffix('.tmp')
  temp.write_text(f'{step}\n')
  os.replace(temp, path)


def run_files(logdir):
  """The RUN_FILES that a logdir holds."""
  return [name for name in RUN_FILES if (pathlib.Path(logdir) / name).exists()]


def complete_checkpoint(directory):
  """The folder of the last complete checkpoint save, or None; `.old` if the save was killed
  between the two renames of tools.save_checkpoint."""
  directory = pathlib.Path(directory)
  old = directory.with_name(directory.name + '.old')
  return next((path for path in (directory, old) if (path / 'variables.index').exists()), None)


def code_version():
  """The commit of this checkout and whether its tracked files differ from it."""
  def git(*args):
    return subprocess.run(
        ['git', *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
  try:
    return dict(commit=git('rev-parse', 'HEAD'),
                dirty=bool(git('status', '--porcelain', '--untracked-files=no')))
  except (OSError, subprocess.CalledProcessError):
    return dict(commit='unknown (not a git checkout)', dirty=None)


def record_code(logdir, step):
  """Appends to LOGDIR/code.jsonl the code that (re)starts the run at `step`: a resumed run
  may run other code than its start did, and a report must know."""
  line = dict(step=step, time=datetime.datetime.now().isoformat(timespec='seconds'),
              **code_version())
  with (pathlib.Path(logdir) / 'code.jsonl').open('a') as file:
    file.write(json.dumps(line) + '\n')


def code_records(logdir):
  """The lines of LOGDIR/code.jsonl (empty for runs made before it existed)."""
  path = pathlib.Path(logdir) / 'code.jsonl'
  if not path.exists():
    return []
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluations(logdir):
  """A run's evaluations in the order they ran, each the list of its eval episodes (dicts of
  arrays). The episodes in LOGDIR/eval_eps sort in the order they were written and are grouped
  by the run's `eval_episodes`; an evaluation cut short by the end of the run is left out."""
  logdir = pathlib.Path(logdir)
  size = config_lib.load_run(logdir / 'config.yaml').eval_episodes
  files = sorted((logdir / 'eval_eps').glob('*.npz'))
  groups = []
  for start in range(0, len(files) - size + 1, size):
    group = []
    for path in files[start:start + size]:
      with np.load(path) as data:
        group.append(dict(data))
    groups.append(group)
  return groups


def episode_return(episode):
  """The first step's reward is the reset's, not the agent's, and is not counted."""
  return float(episode['reward'][1:].sum())
