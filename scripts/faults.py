"""Injects faults into debug runs at random moments and checks that the same command always
recovers, losing no episode and changing no finished result:

  .venv/bin/python -m scripts.faults --faults 50 [--kinds KIND ...] [--root DIR] [--steps 1000]
      [--delay 20] [--max-minutes M] [--seed 0]

Every launch is `train.py --configs debug lsp --steps STEPS --logdir ROOT/runN`, or the same
arguments under tests/fixtures/faulty_train.py. Each fault is drawn at random from KINDS (all by
default; a name before the colon stands for all its kinds):

- kill: SIGKILL after a random delay (up to DELAY seconds);
- full_disk:KIND: the N-th write (N random) of an episode, the metrics, the checkpoint, the
  config, returns.png or `done` meets a full disk: the run ends with exit 1 and one line;
- corrupt:KIND: before a launch, an episode file is cut short, a half line is appended to
  metrics.jsonl, the checkpoint's data is overwritten or config.yaml garbled. A damaged episode
  is skipped and left in place; a damaged checkpoint or config stops the run with one line
  (exit 1 or 2), and the script does what the line says (moves the checkpoint aside under
  ROOT/aside, or puts config.yaml back) and launches again, with a kill after a random delay;
- concurrent: a second launch while the first holds the logdir, which must exit 2 naming the
  first's PID; the first is killed after a random delay.

`--kinds kill --steps 5000 --delay 30` kills runs at random moments, mostly mid-training.

A launch must end by the kill, with exit 0 (the run then done), or with the one `error:` line
its fault calls for; never with a traceback. After each fault every episode file complete
before it is still there. When a run is done: every episode file but those the script damaged
loads, the step in `done` equals the steps of those episodes plus at most the episode in
progress, metrics.jsonl counts up to that step, and returns.png exists; from then on its
config.yaml, metrics.jsonl, done and returns.png never change. A run that has taken two faults
after finishing gives way to a fresh logdir; the last run is finished with the plain command.
Prints `N faults, E episodes lost, R results changed`, the kills and runs, then each problem,
and exits 1 if there is one.
"""
import argparse
import json
import pathlib
import random
import shutil
import subprocess
import sys
import time

from dreamer_lsp import logdir as logdir_lib

REPO = pathlib.Path(__file__).resolve().parent.parent
# The writes of tests/fixtures/faulty_train.py and the words of the line that each failure gives.
WRITES = {
    'episode': 'the episode', 'metrics': 'the metrics', 'checkpoint': 'the checkpoint',
    'config': 'the config', 'plot': 'the returns plot', 'done': 'the done file'}
FAULTS = (
    ['kill', 'concurrent'] + [f'full_disk:{kind}' for kind in WRITES] +
    [f'corrupt:{kind}' for kind in ('episode', 'metrics', 'checkpoint', 'config')])
RESULTS = ('config.yaml', 'metrics.jsonl', 'done', 'returns.png')
KILLED = {0: None, -9: None}  # Exit codes of a launch that may be killed, and their lines.
TIME_LIMIT = 50  # Of an episode in the debug preset (action_repeat 1).


def command(logdir, steps, fault=()):
  program = ['-m', 'tests.fixtures.faulty_train', *fault] if fault else ['train.py']
  return [
      sys.executable, *program, '--configs', 'debug', 'lsp', '--steps', str(steps),
      '--logdir', str(logdir)]


def launch(cmd):
  return subprocess.Popen(
      cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def episodes(logdir):
  return {path.name for path in (logdir / 'train_eps').glob('*.npz')}


def results(logdir):
  return {name: (logdir / name).read_bytes() for name in RESULTS if (logdir / name).is_file()}


class Faults:
  """Each fault method injects one fault into the run in `logdir` and returns its launches as
  (exit code, output, {allowed exit code: words its error line must hold}). Counts the kills,
  those that hit a checkpoint save, and the episode files it damaged."""

  def __init__(self, root, steps, delay, rng):
    self.root, self.steps, self.delay, self.rng = root, steps, delay, rng
    self.kills, self.in_save, self.damaged = 0, 0, set()

  def finish(self, process, delay, logdir, launched):
    """Waits up to `delay` seconds for the process launched at `launched` (time.time()), then
    SIGKILLs it; returns its exit code and output."""
    try:
      output, _ = process.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
      process.kill()
      output, _ = process.communicate()
      self.kills += 1
      temp = logdir / 'checkpoint.tmp'  # Made by this launch: the kill hit a save.
      self.in_save += temp.exists() and temp.stat().st_mtime >= launched
    return process.returncode, output

  def run(self, logdir, delay, fault=()):
    launched = time.time()
    return self.finish(launch(command(logdir, self.steps, fault)), delay, logdir, launched)

  def kill(self, logdir):
    return [(*self.run(logdir, self.rng.uniform(0, self.delay)), KILLED)]

  def full_disk(self, logdir, kind):
    number = 1 if kind in ('config', 'plot', 'done') else self.rng.randint(1, 4)
    code, output = self.run(
        logdir, self.rng.uniform(self.delay, 3 * self.delay), (f'full_disk:{kind}', str(number)))
    return [(code, output, {**KILLED, 1: f'error: Cannot write {WRITES[kind]} to '})]

  def corrupt(self, logdir, kind):
    metrics = logdir / 'metrics.jsonl'
    if kind == 'metrics' and metrics.exists() and not (logdir / 'done').exists():
      with metrics.open('a') as f:
        f.write('{"step": 1')  # As a kill inside a write leaves it.
      return self.kill(logdir)
    data = sorted((logdir / 'checkpoint').glob('variables.data*'))
    if kind == 'checkpoint' and data:
      data[0].write_bytes(b'not a checkpoint')
      code, output = self.run(logdir, 3 * self.delay)
      launches = [(code, output, {**KILLED, 1: 'move the checkpoint folder aside'})]
      if not (logdir / 'done').exists():  # As the line says (or would have, but for the kill).
        aside = self.root / 'aside' / f'{logdir.name}-{time.time_ns()}'
        aside.parent.mkdir(exist_ok=True)
        shutil.move(logdir / 'checkpoint', aside)
        launches += self.kill(logdir)
      return launches
    config = logdir / 'config.yaml'
    if kind == 'config' and config.exists():
      saved = config.read_bytes()
      config.write_text('task: [garbled')
      code, output = self.run(logdir, 3 * self.delay)
      config.write_bytes(saved)  # As the line says: put it back.
      return [(code, output, {2: 'It is the config of the run'})] + self.kill(logdir)
    files = sorted((logdir / 'train_eps').glob('*.npz'))
    if files:  # An episode: asked for, or the damage that the logdir allows yet.
      path = self.rng.choice(files)
      path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
      self.damaged.add(path)
    return self.kill(logdir)

  def concurrent(self, logdir):
    launched = time.time()
    first = launch(command(logdir, self.steps))
    lock = logdir / '.lock'
    while first.poll() is None and not (lock.exists() and lock.read_text() == f'{first.pid}\n'):
      time.sleep(0.1)
    second = self.run(logdir, 3 * self.delay)
    # The first may end, freeing the lock, before the second takes it (on a finished run it only
    # says so): the second is then an ordinary launch. While the first runs, it must be refused.
    allowed = {2: f'is in use by another run (PID {first.pid})'}
    if first.poll() is not None:
      allowed.update(KILLED)
    return [(*second, allowed),
            (*self.finish(first, self.rng.uniform(0, self.delay), logdir, launched), KILLED)]


def problems_of(fault, code, output, allowed):
  if 'Traceback' in output:
    return [f'{fault}: a traceback:\n{output[-3000:]}']
  if code not in allowed:
    return [f'{fault}: exit {code}:\n{output[-3000:]}']
  errors = [line for line in output.splitlines() if line.startswith('error:')]
  if allowed[code] is None:
    return [f'{fault}: exit {code} with {errors}'] if errors else []
  if len(errors) != 1 or allowed[code] not in errors[0]:
    return [f'{fault}: exit {code}, expected one line with {allowed[code]!r}, got {errors}']
  return []


def problems_of_done(logdir, damaged):
  """What is wrong with a run that has just finished: unreadable episodes (but those in
  `damaged`), a step that its episodes do not add up to, metrics that do not count up to it, no
  returns.png."""
  import tools  # Here: TensorFlow loads only for the checks.
  problems, lengths = [], []
  for path in sorted((logdir / 'train_eps').glob('*.npz')):
    if path not in damaged:
      try:
        lengths.append(tools.episode_length(tools.load_episode(path)))
      except tools.EpisodeError as e:
        problems.append(str(e))
  step = logdir_lib.finished_steps(logdir)
  if step is None or not 0 <= step - sum(lengths) < TIME_LIMIT:
    problems.append(f'done at step {step}, but the episodes hold {sum(lengths)} steps')
  try:
    logged = [json.loads(line)['step'] for line in (logdir / 'metrics.jsonl').open()]
  except (OSError, ValueError, KeyError) as e:
    logged = [f'unreadable: {e}']
  if not logged or logged != sorted(logged) or step is None or logged[-1] > step:
    problems.append(f'metrics.jsonl steps do not count up to the last step: {logged[-3:]}')
  if not (logdir / 'returns.png').exists():
    problems.append('done, but no returns.png')
  return problems


def kinds(names):
  """The FAULTS that the names stand for (a fault, or the name before its colon), and the names
  that stand for none."""
  chosen = [fault for fault in FAULTS if {fault, fault.partition(':')[0]} & set(names)]
  known = {name for fault in FAULTS for name in (fault, fault.partition(':')[0])}
  return chosen, sorted(set(names) - known)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--faults', type=int, default=50)
  parser.add_argument('--kinds', nargs='+', default=['kill', 'concurrent', 'full_disk', 'corrupt'])
  parser.add_argument('--root', type=pathlib.Path, default=REPO / 'logdir' / 'faults')
  parser.add_argument('--steps', type=int, default=1000, help='of each run')
  parser.add_argument('--delay', type=float, default=20, help='seconds: the scale of the kills')
  parser.add_argument('--max-minutes', type=float, default=float('inf'),
                      help='stop injecting after this long; the last run then finishes')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  chosen, unknown = kinds(args.kinds)
  if unknown:
    parser.error(f'unknown --kinds {unknown}; the faults are {", ".join(FAULTS)}')
  rng = random.Random(args.seed)
  faults = Faults(args.root, args.steps, args.delay, rng)
  start = time.time()
  injected, runs, lost, changed, problems = 0, 0, 0, 0, []
  logdir, finished, after = args.root / 'run0', None, 0
  while injected < args.faults:
    if time.time() - start > 60 * args.max_minutes:
      print(f'Stopped after {injected} faults ({args.max_minutes} minutes).')
      break
    fault = rng.choice(chosen)
    name, _, kind = fault.partition(':')
    before = episodes(logdir)
    launches = getattr(faults, name)(logdir, *[kind] if kind else [])
    injected += 1
    for launched in launches:
      problems += [f'{logdir.name}: {problem}' for problem in problems_of(fault, *launched)]
    done = (logdir / 'done').exists()
    if any(code == 0 for code, *_ in launches) and not done:
      problems.append(f'{logdir.name}: {fault}: exit 0, but the run is not done')
    missing = before - episodes(logdir)
    lost += len(missing)
    problems += [f'{logdir.name}: {fault}: episode lost: {episode}' for episode in sorted(missing)]
    if finished is not None:
      after += 1
      if results(logdir) != finished:
        changed += 1
        problems.append(f'{logdir.name}: {fault}: the finished results changed')
    elif done:
      finished = results(logdir)
      problems += [f'{logdir.name}: {problem}'
                   for problem in problems_of_done(logdir, faults.damaged)]
    print(f'[{injected}] {logdir.name} {fault}: exit {[code for code, *_ in launches]}, '
          f'{len(episodes(logdir))} episodes{", done" if finished else ""}', flush=True)
    if after == 2:
      runs += 1
      logdir, finished, after = args.root / f'run{runs}', None, 0
  if logdir.exists() and finished is None:  # The last run: finish it.
    code, output = faults.run(logdir, 3600)
    problems += [f'{logdir.name}: {problem}' for problem in problems_of(
        'the last launch', code, output, {0: None})]
    if (logdir / 'done').exists():
      problems += [f'{logdir.name}: {problem}'
                   for problem in problems_of_done(logdir, faults.damaged)]
    else:
      problems.append(f'{logdir.name}: not done after the plain command')
  done_runs = [path for path in args.root.glob('run*') if (path / 'done').exists()]
  leftovers = len(list(args.root.glob('run*/train_eps/*.tmp')))
  print(f'{injected} faults, {lost} episodes lost, {changed} results changed '
        f'({len(problems)} problems, {(time.time() - start) / 60:.1f} minutes).')
  print(f'{faults.kills} kills ({faults.in_save} inside a checkpoint save), '
        f'{len(done_runs)} runs finished, '
        f'{sum(len(episodes(path)) for path in args.root.glob("run*"))} episodes '
        f'({len(faults.damaged)} damaged on purpose, {leftovers} half-written files left by kills, '
        f'never loaded).')
  for problem in problems:
    print('PROBLEM:', problem)
  return 1 if problems else 0


if __name__ == '__main__':
  sys.exit(main())
