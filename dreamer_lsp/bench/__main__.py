"""Benchmarks of Dreamer and LSP on this machine; see BENCHMARKS.md for how to read the results.

  python -m dreamer_lsp.bench --configs paper cpu --jit false true --markdown BENCHMARKS.md
  python -m dreamer_lsp.bench --memory LOGDIR --markdown BENCHMARKS.md
  python -m dreamer_lsp.bench --profile --frames 20000 --markdown BENCHMARKS.md
  python -m dreamer_lsp.bench --threads --frames 6000 --markdown BENCHMARKS.md

A config is `paper` (the defaults of configs.yaml) or presets joined by '+' (`cpu`,
`dmc_vision+cpu`). For each config and jit setting, Dreamer and LSP are measured in their own
fresh processes (so that peak RSS and XLA state belong to one agent) on the same random batch:
update time, FLOPs of an update (TF's profiler on the update's graph), imagined states per second,
acting time with batch 1 (LSP: CEM replan steps and the others), and the whole loop (train.py as
a subprocess with one update per 5 frames). Once per run: the float32 matmul peak, the simulator
limit and the bytes per stored env step. Timings: median over --repeats after a warm-up, with
min and max. `--memory` instead reads a finished train.py run's logged memory, replay size and
hours, to show whether the process grew beyond its replay over a long run. `--profile` instead
trains Dreamer and LSP for --frames frames each (features, the config's presets, default `cpu`
on walker walk) and shows where the wall time of each run went. `--threads` instead trains each
method for --frames frames under each thread setting (threads per run, alone and two runs side by
side: what `sweep --workers --threads` chooses between) and gives their steady frames per second.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import pathlib
import shlex
import sys

from dreamer_lsp import config as config_lib
from dreamer_lsp.bench import agent
from dreamer_lsp.bench import breakdown
from dreamer_lsp.bench import env
from dreamer_lsp.bench import loop
from dreamer_lsp.bench import machine
from dreamer_lsp.bench import markdown
from dreamer_lsp.bench import memory
from dreamer_lsp.bench import threads
from dreamer_lsp.bench import timing

SIM_TASKS = ('dmc_cheetah_run', 'dmc_quadruped_walk', 'quadruped_getup_walk')


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog='python -m dreamer_lsp.bench', description=__doc__.splitlines()[0])
  parser.add_argument('--configs', nargs='+', default=None)
  parser.add_argument('--jit', nargs='+', type=_bool, default=None)
  parser.add_argument('--task', default=None, help='default: dmc_quadruped_walk; '
                      'with --profile dmc_walker_walk')
  parser.add_argument('--repeats', type=int, default=None)
  parser.add_argument('--tiny', action='store_true', help='debug sizes, seconds: for tests')
  parser.add_argument('--memory', nargs='+', metavar='LOGDIR', help='report these runs instead')
  parser.add_argument('--profile', action='store_true',
                      help='where the wall time of real train.py runs goes, instead')
  parser.add_argument('--threads', action='store_true',
                      help='frames/s of real train.py runs under each thread setting, instead')
  parser.add_argument('--frames', type=int, default=None,
                      help='of each --profile run (default 20000) or --threads run (6000)')
  parser.add_argument('--out', type=pathlib.Path)
  parser.add_argument('--markdown', type=pathlib.Path)
  args = parser.parse_args(argv)
  if args.memory:
    return report_memory(args)
  if args.profile and args.threads:
    parser.error('--profile and --threads are two benchmarks: choose one')
  real_runs = args.profile or args.threads
  args.task = args.task or ('dmc_walker_walk' if real_runs else 'dmc_quadruped_walk')
  args.frames = args.frames or (20000 if args.profile else 6000)
  default = ['cpu'] if real_runs else ['debug'] if args.tiny else ['paper', 'cpu']
  args.configs = args.configs or default
  args.jit = args.jit or ([False] if args.tiny else [False, True])
  args.repeats = args.repeats or (1 if args.tiny else 5)
  for name in args.configs:  # A bad preset name fails now, not after minutes of measuring.
    agent.build_config(_presets(name), 'lsp', args.task, False)
  if args.profile:
    result = profile(args)
    text = markdown.profile_section(result)
  elif args.threads:
    result = thread_settings(args)
    text = markdown.threads_section(result)
  else:
    result = run(args)
    text = markdown.bench_section(result)
  print(text)
  if args.out:
    args.out.write_text(json.dumps(result, indent=1) + '\n')
  if args.markdown:
    markdown.append_section(args.markdown, text)


def run(args):
  tiny = args.tiny
  result = _started(args, repeats=args.repeats, tiny=tiny)
  size = 256 if tiny else 2048
  result['matmul_peak'] = dict(
      size=size, tf=timing.matmul_peak(size, args.repeats, False),
      xla=timing.matmul_peak(size, args.repeats, True))
  print(f'Matmul peak: {result["matmul_peak"]}', flush=True)
  tasks = [args.task] if tiny else list(dict.fromkeys([*SIM_TASKS, args.task]))
  result['simulator_steps_per_s'] = {
      task: env.simulator(task, 50 if tiny else 1000, args.repeats) for task in tasks}
  print(f'Simulator: {result["simulator_steps_per_s"]}', flush=True)
  time_limit = 40 if tiny else 1000
  result['storage'] = {
      obs: env.storage(args.task, obs, time_limit) for obs in ('features', 'pixels')}
  print(f'Storage: {result["storage"]}', flush=True)
  steps = 20 if tiny else 400
  result['pixel_collection'] = {
      workers: env.collection(args.task, workers, steps, time_limit) for workers in (1, 2)}
  print(f'Pixel collection: {result["pixel_collection"]}', flush=True)
  result['runs'] = []
  for name in args.configs:
    presets = _presets(name)
    for jit in args.jit:
      print(f'{name} jit={jit} ...', flush=True)
      c = agent.build_config(presets, 'lsp', args.task, jit)
      entry = dict(config=name, jit=jit, sizes={k: c[k] for k in agent.SIZES})
      # --tiny measures the two methods side by side, for speed; timings are then meaningless.
      with concurrent.futures.ThreadPoolExecutor(2 if tiny else 1) as pool:
        entry.update(zip(agent.METHODS, pool.map(
            lambda method: method_bench(presets, method, jit, args, result, size),
            agent.METHODS)))
      entry['lsp_over_dreamer'] = {
          kind: entry['lsp'][key]['median'] / entry['dreamer'][key]['median']
          for kind, key in (('wall', 'update_s'), ('cpu', 'update_cpu_s'))}
      result['runs'].append(entry)
      print(json.dumps(entry), flush=True)
  result['machine']['load_average_end'] = os.getloadavg()
  return result


def method_bench(presets, method, jit, args, result, peak_size):
  """The agent's measurements (in a fresh process), then the whole loop."""
  measured = agent.in_child(
      agent.agent_bench, presets, method, args.task, jit, args.repeats, peak_size)
  updates, intervals = (2, 2) if args.tiny else (loop.UPDATES, loop.INTERVALS)
  measured['loop'] = loop.loop(presets, method, args.task, jit, updates, intervals)
  # Seconds per agent step from the parts; the simulator was timed with 2 frames per step.
  repeat = agent.build_config(presets, method, args.task, jit).action_repeat
  sim = result['simulator_steps_per_s'][args.task]['median']
  seconds = (measured['act_ms']['step']['median'] / 1000 + repeat / (2 * sim) +
             measured['update_s']['median'] * repeat / 5)
  measured['loop']['predicted_frames_per_s'] = repeat / seconds
  return measured


def profile(args):
  """For each config, Dreamer then LSP: the split of the update (in a fresh process), then a
  real train.py run of --frames frames, which uses the config's jit settings."""
  result = _started(args, repeats=args.repeats, frames=args.frames)
  result['runs'] = []
  for name in args.configs:
    presets = ['dmc_proprio', *_presets(name)]
    entry = dict(config=name)
    for method in agent.METHODS:
      print(f'{name} {method}: the update split, then {args.frames} frames ...', flush=True)
      jit = config_lib.build([*presets, method], dict(task=args.task)).jit
      split = agent.in_child(
          agent.agent_bench, presets, method, args.task, jit, args.repeats, 2048)
      trained = breakdown.train(presets, method, args.task, args.frames)
      entry[method] = dict(
          run=trained, split=split, rows=breakdown.rows(trained, split),
          frames_per_s=args.frames / trained["wall_s"],
          cpu_s_per_frame=trained["cpu_s"] / args.frames)
      print(json.dumps(entry[method]['rows']), flush=True)
    result['runs'].append(entry)
  result['machine']['load_average_end'] = os.getloadavg()
  return result


def thread_settings(args):
  """For each config and method, train.py runs under each thread setting (threads.py)."""
  result = _started(args, frames=args.frames)
  result['runs'] = []
  for name in args.configs:
    presets = ['dmc_proprio', *_presets(name)]
    for method in agent.METHODS:
      print(f'{name} {method}: {args.frames} frames under each thread setting ...', flush=True)
      settings = threads.threads(presets, method, args.task, args.frames)
      result['runs'].append(dict(config=name, method=method, settings=settings))
      print(json.dumps(settings), flush=True)
  result['machine']['load_average_end'] = os.getloadavg()
  return result


def report_memory(args):
  markdown_dir = (args.markdown or pathlib.Path('BENCHMARKS.md')).resolve().parent
  date = datetime.datetime.now().isoformat(timespec='seconds')
  result = dict(
      date=date, command=shlex.join(['python', '-m', 'dreamer_lsp.bench', *sys.argv[1:]]),
      memory=[
          memory.memory(logdir, markdown_dir / 'docs' / 'benchmarks' /
                        f'memory_{date.replace(":", "")}_{index}.png')
          for index, logdir in enumerate(args.memory)])
  text = markdown.memory_section(result, markdown_dir)
  print(text)
  if args.out:
    args.out.write_text(json.dumps(result, indent=1) + '\n')
  if args.markdown:
    markdown.append_section(args.markdown, text)


def _started(args, **fields):
  """What every benchmark run records first: when, where, the command and the code."""
  result = dict(
      date=datetime.datetime.now().isoformat(timespec='seconds'), machine=machine.machine(),
      command=shlex.join(['python', '-m', 'dreamer_lsp.bench', *sys.argv[1:]]),
      commit=machine.commit(), task=args.task, **fields)
  print(f'Machine: {result["machine"]}', flush=True)
  import tensorflow as tf
  result['machine']['tf_version'] = tf.__version__
  return result


def _presets(name):
  return [] if name == 'paper' else name.split('+')


def _bool(text):
  if text.lower() not in ('true', 'false'):
    raise argparse.ArgumentTypeError(f'expected true or false, got {text!r}')
  return text.lower() == 'true'


if __name__ == '__main__':
  main()
