"""The checks of scripts/faults.py, on fake launches: the script must flag what train.py may not
do and accept what it may."""
import random

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
