"""SIGKILLs a debug run at random moments, resumes it with the same command each time, and checks
that nothing was lost and nothing needed cleaning up by hand:

  .venv/bin/python -m scripts.kill_resume --iterations 50 [--root DIR] [--max-minutes M]

Each iteration starts `train.py --configs debug lsp --steps STEPS --logdir ROOT/runN`, kills it
after a random delay and notes the episode files complete at that moment. When a run finishes
before its kill, it is checked and the next iteration starts a fresh logdir. At the end the last
run is finished with the same command and checked: every episode noted is still there and
loadable, the step counter equals the steps of the saved episodes (plus at most the episode in
progress), metrics.jsonl counts up, and every relaunch exited by the kill or with code 0.
"""
import argparse
import json
import pathlib
import random
import re
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent


def episodes(logdir):
  return {path.name for path in (logdir / 'train_eps').glob('*.npz')}


def command(logdir, steps):
  return [
      sys.executable, 'train.py', '--configs', 'debug', 'lsp', '--steps', str(steps),
      '--logdir', str(logdir)]


def check(logdir, saved, output):
  """Problems of a finished run: lost or unreadable episodes, an inconsistent step counter."""
  import tools  # Here: TensorFlow loads only for the checks.
  problems = [f'{logdir}: episode lost: {name}' for name in sorted(saved - episodes(logdir))]
  lengths = [
      tools.episode_length(tools.load_episode(logdir / 'train_eps' / name))
      for name in sorted(episodes(logdir))]  # Raises for an unreadable file.
  finished = re.search(r'Finished (\d+) steps|is complete \((\d+) steps\)', output)
  if not finished:
    return problems + [f'{logdir}: no "Finished" line']
  if not (logdir / 'returns.png').exists():
    problems.append(f'{logdir}: done, but no returns.png')
  step = int(finished.group(1) or finished.group(2))
  time_limit = 50  # debug: action_repeat 1, time_limit 50.
  if not 0 <= step - sum(lengths) < time_limit:
    problems.append(f'{logdir}: step {step}, but the episodes hold {sum(lengths)} steps')
  logged = [json.loads(line)['step'] for line in (logdir / 'metrics.jsonl').open()]
  if not logged or logged != sorted(logged) or logged[-1] > step:
    problems.append(f'{logdir}: metrics.jsonl steps do not count up to the last step')
  return problems


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--iterations', type=int, default=50)
  parser.add_argument('--root', type=pathlib.Path, default=REPO / 'logdir' / 'kill_resume')
  parser.add_argument('--steps', type=int, default=5000, help='of each run')
  parser.add_argument('--max-delay', type=float, default=30, help='seconds before the kill')
  parser.add_argument('--max-minutes', type=float, default=float('inf'),
                      help='stop killing after this long; the last run then finishes')
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  rng = random.Random(args.seed)
  start = time.time()
  runs, kills, in_save, problems = 0, 0, 0, []
  logdir, saved = args.root / 'run0', set()
  for iteration in range(args.iterations):
    if time.time() - start > 60 * args.max_minutes:
      print(f'Stopped after {iteration} iterations ({args.max_minutes} minutes).')
      break
    launched = time.time()
    process = subprocess.Popen(
        command(logdir, args.steps), cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
      process.wait(rng.uniform(0, args.max_delay))
    except subprocess.TimeoutExpired:
      process.kill()
      kills += 1
      temp = logdir / 'checkpoint.tmp'  # Made by this launch: the kill hit a save.
      in_save += temp.exists() and temp.stat().st_mtime >= launched
    output = process.communicate()[0]
    saved |= episodes(logdir)
    code = process.returncode
    print(f'[{iteration + 1}] {logdir.name}: exit {code}, {len(saved)} episodes saved', flush=True)
    if code not in (0, -9):
      problems.append(f'{logdir} exited {code}:\n{output[-2000:]}')
    if code == 0:  # Finished before the kill: check it and start the next run.
      problems += check(logdir, saved, output)
      runs += 1
      logdir, saved = args.root / f'run{runs}', set()
  if logdir.exists():  # The last run, killed: finish it.
    result = subprocess.run(command(logdir, args.steps), cwd=REPO, capture_output=True, text=True)
    if result.returncode:
      problems.append(f'{logdir} exited {result.returncode}:\n{result.stderr[-2000:]}')
    problems += check(logdir, saved, result.stdout)
    runs += 1
  leftovers = len(list(args.root.glob('run*/train_eps/*.tmp')))
  print(f'{kills} kills ({in_save} inside a checkpoint save), {runs} runs finished, '
        f'{sum(len(episodes(path)) for path in args.root.glob("run*"))} episodes '
        f'({leftovers} half-written episode files left by kills, never loaded), '
        f'{len(problems)} problems, {(time.time() - start) / 60:.1f} minutes.')
  for problem in problems:
    print('PROBLEM:', problem)
  return 1 if problems else 0


if __name__ == '__main__':
  sys.exit(main())
