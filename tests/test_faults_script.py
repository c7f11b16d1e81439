"""The checks of scripts/faults.py, on fake launches: the script must flag what train.py may not
do and accept what it may."""
import random

import numpy as np

from scripts import faults


class FakeLaunch:
  """A launch that runs until communicate() and then exits with `code`."""

  def __init__(self, pid, code, output):
    self.pid, self.code, self.output = pid, code, output
    self.returncode = None

  def poll(self):
    return self.returncode

  def communicate(self, timeout=None):
    self.returncode = self.code
    return self.output, None

  def kill(self):
    self.returncode = -9


def concurrent(tmp_path, monkeypatch, first_ends_before_second):
  """Faults.concurrent where the second launch exits 0, as an ordinary launch on a finished
  run; the problems the script finds in its launches."""
  first = FakeLaunch(101, 0, 'is complete (600 steps)')
  second = FakeLaunch(102, 0, 'is complete (600 steps)')

  launches = iter([first, second])

  def launch(_):
    process = next(launches)
    if process is first:
      (tmp_path / '.lock').write_text(f'{first.pid}\n')  # It holds the lock.
    elif first_ends_before_second:
      first.communicate()  # It has ended and freed the lock.
    return process

  monkeypatch.setattr(faults, 'launch', launch)
  runs = faults.Faults(tmp_path, 600, 1.0, random.Random(0))
  return [problem for launched in runs.concurrent(tmp_path)
          for problem in faults.problems_of('concurrent', *launched)]


def test_a_second_launch_after_the_first_ended_may_be_an_ordinary_one(tmp_path, monkeypatch):
  # The race of a finished run: the first said "complete" and ended before the second started.
  assert concurrent(tmp_path, monkeypatch, first_ends_before_second=True) == []


def test_a_second_launch_that_runs_beside_the_first_is_a_problem(tmp_path, monkeypatch):
  problems = concurrent(tmp_path, monkeypatch, first_ends_before_second=False)
  assert len(problems) == 1 and problems[0].startswith('concurrent: exit 0')


def test_kinds_stand_for_faults_or_their_class():
  assert faults.kinds(['kill', 'full_disk']) == (
      ['kill'] + [f'full_disk:{kind}' for kind in faults.WRITES], [])
  assert faults.kinds(['corrupt:config', 'oom']) == (['corrupt:config'], ['oom'])


def finished_run(logdir, done_step):
  """A logdir as a finished debug run leaves it: three episodes of 50 steps."""
  import tools
  episode = {'reward': np.zeros(51, np.float32), 'action': np.zeros((51, 2), np.float32)}
  paths = [tools.save_episode(logdir / 'train_eps', episode) for _ in range(3)]
  (logdir / 'done').write_text(f'{done_step}\n')
  (logdir / 'metrics.jsonl').write_text(f'{{"step": 50}}\n{{"step": {done_step}}}\n')
  (logdir / 'returns.png').write_bytes(b'png')
  return paths


def test_a_consistent_finished_run_has_no_problems(tmp_path):
  finished_run(tmp_path, 150)
  assert faults.problems_of_done(tmp_path, damaged=set()) == []


def test_a_finished_run_with_an_unreadable_episode_or_a_wrong_step_is_a_problem(tmp_path):
  paths = finished_run(tmp_path, 250)
  paths[0].write_bytes(b'cut')
  problems = faults.problems_of_done(tmp_path, damaged=set())
  assert len(problems) == 2
  assert problems[0].startswith(f'Corrupt episode file {paths[0]}')
  assert problems[1] == 'done at step 250, but the episodes hold 100 steps'


def test_the_episodes_the_script_damaged_are_left_out(tmp_path):
  paths = finished_run(tmp_path, 100)  # As train.py recounts the step after the damage.
  paths[0].write_bytes(b'cut')
  assert faults.problems_of_done(tmp_path, damaged={paths[0]}) == []
