"""Where the wall time of a real train.py run goes: the sections that train.py's timer logs
(`time/NAME`, `cpu/NAME` in metrics.jsonl), with the update split into world model, training CEM
and behaviour by the shares that the agent's own measurements (agent.py) give them: the update
is one graph, which train.py can only time whole."""
import collections
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

from dreamer_lsp.bench import timing
from dreamer_lsp.bench.machine import REPO

# train.py's timer sections.
SECTIONS = (
    'setup', 'env', 'episodes', 'replay', 'trace', 'update', 'act', 'eval', 'skill_r2', 'log',
    'checkpoint')
# The table's rows, in its order: the update's three parts, then the sections, then the rest.
ROWS = (
    ('model', 'update: world model'),
    ('behaviour', 'update: behaviour (actor, value; LSP: skill predictor)'),
    ('cem', 'update: training CEM (LSP)'),
    ('trace', 'first updates (variables, tracing)'),
    ('act', 'acting (policy, incl. CEM replans)'),
    ('env', "env stepping (incl. the prefill and simulate's bookkeeping)"),
    ('eval', 'evaluation episodes (incl. tracing, with jit_policy compiling, the policy)'),
    ('skill_r2', 'skill decoding (skill_r2, at evaluations)'),
    ('replay', 'replay: the next tf.data batch'),
    ('episodes', 'saving train episodes'),
    ('log', 'logging'),
    ('checkpoint', 'checkpoints'),
    ('overhead', 'Python overhead of the loop (outside the sections)'),
    ('startup', 'start-up and exit (imports, envs, agent, plot)'))


def train(presets, method, task, frames, flags=(), env=None):
  """train.py for `frames` frames in a temp logdir (with more `flags`, in the environment `env`):
  its sections' seconds summed over the run and each log interval's (`intervals`: the step it
  ended at and its sections), its process's wall and CPU seconds, and the 1-minute load average
  at each of its log lines."""
  with tempfile.TemporaryDirectory() as logdir:
    command = [
        sys.executable, 'train.py', '--configs', *presets, method, '--task', task,
        '--logdir', logdir, '--steps', str(frames), *flags]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines, loads = [], [os.getloadavg()[0]]
    for line in process.stdout:
      lines.append(line)
      if line.startswith('step '):
        loads.append(os.getloadavg()[0])
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status:
      raise RuntimeError(f'{shlex.join(command)} failed:\n{"".join(lines[-30:])}')
    sections, intervals = collections.defaultdict(float), []
    for line in (pathlib.Path(logdir) / 'metrics.jsonl').read_text().splitlines():
      record = json.loads(line)
      timed = {k: v for k, v in record.items() if k.startswith(('time/', 'cpu/'))}
      if timed:
        intervals.append(dict(step=record['step'], **timed))
      for key, value in timed.items():
        sections[key] += value
  return dict(
      wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, sections=dict(sections),
      intervals=intervals,
      load_average=timing.stats(loads), command=shlex.join(command[1:]).replace(logdir, 'LOGDIR'))


def rows(run, split):
  """Wall and CPU seconds of each row of the table; they add up to the process's."""
  shares = dict(model=split['model_s']['median'] / split['update_s']['median'])
  shares['cem'] = split['cem_s']['median'] / split['update_s']['median'] if 'cem_s' in split else 0
  shares['behaviour'] = 1 - shares['model'] - shares['cem']
  result = {}
  for kind, process in (('time', run['wall_s']), ('cpu', run['cpu_s'])):
    seconds = lambda name: run['sections'].get(f'{kind}/{name}', 0.0)
    row = {name: seconds('update') * share for name, share in shares.items()}
    row.update({name: seconds(name) for name in SECTIONS if name not in ('setup', 'update')})
    row['overhead'] = seconds('total') - sum(seconds(name) for name in SECTIONS)
    row['startup'] = seconds('setup') + process - seconds('total')
    result[kind] = {name: row[name] for name, _ in ROWS}
  return result
