"""Sweeps: expansion, skipping and resuming, failures, Ray, and the real train.py end to end."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from ruamel.yaml import YAML

from conftest import REPO, save_sweep_configs
from dreamer_lsp import logdir as logdir_lib
from dreamer_lsp import report
from dreamer_lsp.sweep import cli, launch, results, spec

FAKE_TRAIN = '''
"""Stands in for train.py: records its arguments, fails on --method bad, else finishes the run."""
import argparse, pathlib, sys
parser = argparse.ArgumentParser()
parser.add_argument('--logdir', type=pathlib.Path)
parser.add_argument('--method')
args, _ = parser.parse_known_args()
with open(args.logdir / 'calls.txt', 'a') as f:
  f.write(' '.join(sys.argv[1:]) + '\\n')
print('training', args.logdir.name)
if args.method == 'bad':
  sys.exit(3)
(args.logdir / 'done').touch()
'''


def flags(args):
  """The presets and the --key value pairs of a run's arguments."""
  assert args[0] == '--configs'
  end = next(i for i, arg in enumerate(args[1:], 1) if arg.startswith('--'))
  pairs = args[end:]
  assert [key.startswith('--') for key in pairs[::2]] == [True] * (len(pairs) // 2)
  return args[1:end], {key[2:]: value for key, value in zip(pairs[::2], pairs[1::2])}


def test_expand_grid_names_and_overrides(tmp_path):
  runs = spec.expand({
      'configs': ['debug'],
      'methods': {'lsp': ['lsp', 'proprio'], 'long': {'configs': ['lsp'], 'skill_len': 30}},
      'tasks': {
          'reach': None,
          'reach_pixels': {'task': 'reach', 'configs': ['vision'], 'steps': 500}},
      'seeds': [0, 1],
      'overrides': {'steps': 1e6, 'plan_horizon': 5},
      'grid': {'plan_horizon': [10, 20], 'lr': [3e-4]},
  }, tmp_path)
  names = {str(run.logdir.relative_to(tmp_path)) for run in runs}
  assert len(runs) == len(names) == 2 * 2 * 2 * 2
  assert 'reach/lsp,plan_horizon=10,lr=0.0003/seed0' in names
  assert 'reach_pixels/long,plan_horizon=20,lr=0.0003/seed1' in names
  run = next(run for run in runs if run.logdir.parts[-3:] == (
      'reach', 'lsp,plan_horizon=10,lr=0.0003', 'seed0'))
  assert run.labels == {'task': 'reach', 'method': 'lsp,plan_horizon=10,lr=0.0003'}
  assert flags(run.args) == (['lsp', 'proprio', 'debug'], {
      'steps': '1000000', 'plan_horizon': '10', 'lr': '0.0003', 'task': 'reach',
      'seed': '0', 'logdir': str(run.logdir)})
  run = next(run for run in runs if run.logdir.parts[-3:] == (
      'reach_pixels', 'long,plan_horizon=20,lr=0.0003', 'seed1'))
  assert run.labels == {'task': 'reach_pixels', 'method': 'long,plan_horizon=20,lr=0.0003'}
  assert flags(run.args) == (['vision', 'lsp', 'debug'], {
      'steps': '500', 'plan_horizon': '20', 'lr': '0.0003', 'task': 'reach', 'skill_len': '30',
      'seed': '1', 'logdir': str(run.logdir)})


def test_expand_short_forms_null_flags_and_exclude(tmp_path):
  runs = spec.expand({
      'methods': ['lsp', 'hiro'],
      'tasks': ['walk', 'pixels', 'transfer'],
      'seeds': [0],
      'exclude': [{'task': 'pixels', 'method': 'hiro'}],
  }, tmp_path)
  names = [str(run.logdir.relative_to(tmp_path)) for run in runs]
  assert names == [
      'walk/lsp/seed0', 'walk/hiro/seed0', 'pixels/lsp/seed0',
      'transfer/lsp/seed0', 'transfer/hiro/seed0']
  assert flags(runs[0].args) == (['lsp'], {
      'task': 'walk', 'seed': '0', 'logdir': str(runs[0].logdir)})


def test_expand_templates_for_transfer(tmp_path):
  runs = spec.expand({
      'methods': {'lsp': None, 'fixed': {'transfer_from': 'src/{task}/lsp/{seed}'}},
      'tasks': {
          'getup': {'task': None, 'configs': ['transfer_getup']},
          'walk': {'task': None, 'configs': ['transfer_walk'], 'relabel_from': '{transfer_from}'}},
      'seeds': [3],
      'overrides': {'transfer_from': 'src/{task}/{method}/{seed}'},
  }, tmp_path)
  assert [flags(run.args) for run in runs] == [
      (['transfer_getup', 'lsp'], {
          'transfer_from': 'src/getup/lsp/3', 'seed': '3', 'logdir': str(runs[0].logdir)}),
      (['transfer_getup', 'fixed'], {
          'transfer_from': 'src/getup/lsp/3', 'seed': '3', 'logdir': str(runs[1].logdir)}),
      (['transfer_walk', 'lsp'], {
          'transfer_from': 'src/walk/lsp/3', 'relabel_from': 'src/walk/lsp/3',
          'seed': '3', 'logdir': str(runs[2].logdir)}),
      (['transfer_walk', 'fixed'], {
          'transfer_from': 'src/walk/lsp/3', 'relabel_from': 'src/walk/lsp/3',
          'seed': '3', 'logdir': str(runs[3].logdir)})]


def test_vars_name_places_per_task_and_method_without_becoming_flags(tmp_path):
  """transfer_cpu.yaml's case: most sources are read from their committed copies, one task's
  from its logdir; a method that names its own source keeps the task's place."""
  runs = spec.expand({
      'methods': {'lsp': None, 'fixed': {'transfer_from': '{sources}/{task}/lsp/{seed}'}},
      'tasks': {
          'getup': {'task': None},
          'walk': {'task': None, 'relabel_from': '{transfer_from}', 'vars': {'sources': 'logs'}}},
      'seeds': [3],
      'vars': {'sources': 'committed'},
      'overrides': {'transfer_from': '{sources}/{task}/{method}/{seed}'},
  }, tmp_path)
  places = [{key: value for key, value in flags(run.args)[1].items() if key.endswith('_from')}
            for run in runs]
  assert places == [
      {'transfer_from': 'committed/getup/lsp/3'},
      {'transfer_from': 'committed/getup/lsp/3'},
      {'transfer_from': 'logs/walk/lsp/3', 'relabel_from': 'logs/walk/lsp/3'},
      {'transfer_from': 'logs/walk/lsp/3', 'relabel_from': 'logs/walk/lsp/3'}]
  assert not any('--sources' in run.args or '--vars' in run.args for run in runs)


def test_shipped_sweep_files(tmp_path):
  counts = {}
  for path in sorted((REPO / 'sweeps').glob('*.yaml')):
    runs = spec.expand(spec.load(path), tmp_path)
    spec.check(runs, tmp_path)  # Every run's presets, keys, task and values.
    counts[path.stem] = len(runs)
  assert counts == {
      'paper_mi_ablation': 3 * 3, 'paper_single_task': (11 * 5 - 3) * 3,
      'paper_transfer': 3 * 4 * 3, 'paper_transfer_source': 3 * 3 * 3, 'tiny': 2 * 2,
      'skills_point': 13 * 2 - 8, 'skills_point_reach': 5 * 4 + 4, 'skills_walker': 14 + 1,
      'cpu_results': 2 * 2 + 2 + 2 + 3 + 1, 'precision_point': 4 * 2, 'transfer_pilot': 2,
      'settle_lsp': 3 * 2, 'transfer_cpu_source': 2 * 2 + (3 + 2 + 2) + 2,
      'transfer_cpu': 2 * 4 + (4 + 4 + 4) + 5,
      'campaign': 3 * 3 * 3 + 2 * 2 * 3, 'quadruped_mi': 2}


# Where the runs of sweep files are committed (config.yaml, metrics.jsonl).
COMMITTED = {
    'docs/skills/runs/skills_point': ['skills_point'],
    'docs/skills/runs/skills_point_reach': ['skills_point_reach'],
    'docs/skills/runs/skills_walker': ['skills_walker'],
    'docs/results/runs': ['cpu_results', 'campaign'],
    'docs/results/transfer/pilot/runs': ['transfer_pilot'],
    'docs/results/transfer/source_runs': ['transfer_cpu_source'],
    'docs/results/transfer/runs': ['transfer_cpu']}


def test_committed_runs_are_what_their_sweep_files_run(monkeypatch):
  """Every committed run's config is what its sweep entry would run today (so that a changed
  default cannot silently change what a sweep file reproduces), and every committed run has one.
  A transfer's source need not be here (Walk -> Reach's is regenerated, not committed)."""
  import train
  monkeypatch.setattr(train, '_check_sources', lambda config: None)
  from dreamer_lsp import config as config_lib
  for root, names in COMMITTED.items():
    runs = [run for name in names
            for run in spec.expand(spec.load(REPO / 'sweeps' / f'{name}.yaml'), REPO / root)]
    named = {run.logdir for run in runs}
    for saved in (REPO / root).glob('*/*/seed*/config.yaml'):
      assert saved.parent in named, f'{saved} is a run of none of {names}'
    for run in runs:
      if (run.logdir / 'config.yaml').exists():
        train.validate(config_lib.parse_args(run.args))  # Raises naming the keys that differ.


GOOD = {'configs': ['debug'], 'methods': ['lsp', 'dreamer'], 'tasks': ['point_reach'],
        'seeds': [0, 1]}


@pytest.mark.parametrize('change, message', [
    ({'overides': {'steps': 100}},
     "Unknown sweep key 'overides'. Did you mean 'overrides'"),
    ({'seeds': None}, 'The sweep file names no seeds.'),
    ({'seeds': 3}, "Sweep key 'seeds' must be a list, got 3."),
    ({'grid': {'plan_horizon': 5}}, 'grid: plan_horizon needs a list of values'),
    ({'exclude': [{'methd': 'lsp'}]}, "Unknown exclude key 'methd'. Did you mean 'method'?"),
    ({'methods': ['lsp', 'lps']}, "and 1 more runs: Unknown preset 'lps'. Did you mean 'lsp'"),
    ({'tasks': ['point_rech']}, "Unknown task 'point_rech'. Did you mean 'point_reach'"),
    ({'seeds': [0, 0]}, 'Runs share the logdirs point_reach/lsp/seed0, point_reach/dreamer/seed0: '
     'a seed or grid value is given twice (5 and 5.0 name the same run).'),
    ({'grid': {'horizon': [5, 5.0]}},
     'Runs share the logdirs point_reach/lsp,horizon=5/seed0, point_reach/dreamer,horizon=5/seed0, '),
    ({'grid': {'seed': [3]}}, 'grid sets seed, which a sweep sets: seeds are given by `seeds:`'),
    ({'overrides': {'logdir': 'x'}}, 'overrides sets logdir, which a sweep sets: the sweep names'),
    ({'methods': {'lsp': 5}}, 'methods: lsp must be a list of presets or a mapping of flags'),
    ({'tasks': {'point_reach': {'vars': ['sources']}}},
     "tasks: point_reach must be a list of presets or a mapping of flags"),
    ({'vars': ['sources']}, "Sweep key 'vars' must be a dict, got ['sources']."),
    ({'overrides': {'transfer_from': 'src/{tsk}'}},
     "transfer_from: 'src/{tsk}' names {tsk}, which is none of the run's fields and flags"),
    ({'overrides': {'bach_size': 4}}, "Unknown config key 'bach_size'"),
    ({'overrides': {'steps': -1}}, "Config key 'steps' must be in [0, 1e12], got -1."),
    ({'grid': {'cem_elites': [2, 40]}},
     'point_reach/lsp,cem_elites=40/seed0 and 3 more runs: cem_elites (40) must be at most '
     'cem_population (6).'),
])
def test_sweep_file_is_checked_whole_before_any_run(change, message, fake, tmp_path, capsys):
  path, cmd = fake
  YAML(typ='safe', pure=True).dump({**GOOD, **change}, path)
  root = tmp_path / 'root'
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 2
  err = capsys.readouterr().err
  assert err.startswith(f'error: {path}: ') and err.endswith('No run was started.\n')
  assert message in err
  assert not root.exists()  # Nothing launched, no logdir made.


def test_bad_sweep_file_on_the_command_line(tmp_path):
  path = tmp_path / 'sweep.yaml'
  path.write_text('methods: [lsp]\ntasks: [point_reach]\nseeds: [0]\noverride: {steps: 5}\n')
  result = subprocess.run(
      [sys.executable, '-m', 'dreamer_lsp.sweep', str(path), '--dry-run'],
      cwd=REPO, capture_output=True, text=True, timeout=60)
  assert result.returncode == 2
  assert "Unknown sweep key 'override'. Did you mean 'overrides'" in result.stderr
  assert 'Traceback' not in result.stderr and result.stdout == ''


@pytest.mark.parametrize(
    'flag, value', [('--threads', '0'), ('--workers', '0'), ('--gpus', '-0.5')])
def test_bad_resources_are_refused(fake, tmp_path, capsys, flag, value):
  path, cmd = fake
  root = tmp_path / 'root'
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd, flag, value]) == 2
  least = 0 if flag == '--gpus' else 1
  assert capsys.readouterr().err == f'error: {flag} must be at least {least}, got {value}.\n'
  assert not root.exists()


@pytest.fixture
def fake(tmp_path):
  """A sweep file of two runs and a stand-in train command."""
  script = tmp_path / 'fake_train.py'
  script.write_text(FAKE_TRAIN)
  path = tmp_path / 'sweep.yaml'
  YAML(typ='safe', pure=True).dump(
      {'methods': ['lsp', 'dreamer'], 'tasks': ['point_reach'], 'seeds': [0],
       'overrides': {'steps': 100}}, path)
  return path, f'{sys.executable} {script}'


def calls(logdir):
  path = logdir / 'calls.txt'
  return path.read_text().splitlines() if path.exists() else []


def test_skips_done_runs_and_resumes_unfinished(fake, tmp_path, capsys):
  path, cmd = fake
  root = tmp_path / 'root'
  (root / 'point_reach/lsp/seed0').mkdir(parents=True)
  (root / 'point_reach/lsp/seed0/done').touch()
  (root / 'point_reach/dreamer/seed0').mkdir(parents=True)
  (root / 'point_reach/dreamer/seed0/stdout.log').write_text('first attempt\n')
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd, '--dry-run']) == 0
  assert 'resume ' in capsys.readouterr().out
  assert calls(root / 'point_reach/dreamer/seed0') == []
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 0
  assert calls(root / 'point_reach/lsp/seed0') == []
  assert calls(root / 'point_reach/dreamer/seed0') == [
      f'--configs dreamer --steps 100 --task point_reach --seed 0 '
      f'--logdir {root}/point_reach/dreamer/seed0']
  log = (root / 'point_reach/dreamer/seed0/stdout.log').read_text()
  assert log.startswith('first attempt\n$ ') and log.endswith('training seed0\n')
  assert YAML(typ='safe', pure=True).load(root / 'point_reach/dreamer/seed0/labels.yaml') == {
      'task': 'point_reach', 'method': 'dreamer'}
  assert '1 done, 1 to train' in capsys.readouterr().out
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 0
  assert '2 done, 0 to train' in capsys.readouterr().out
  assert len(calls(root / 'point_reach/dreamer/seed0')) == 1


def test_runs_training_in_another_process_are_left_to_it(fake, tmp_path, capsys):
  path, cmd = fake
  root = tmp_path / 'root'
  logdir = root / 'point_reach/dreamer/seed0'
  logdir.mkdir(parents=True)
  (logdir / 'metrics.jsonl').write_text('{"step": 40}\n')
  with logdir_lib.lock(logdir):  # As a train.py of another sweep command holds it.
    assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd, '--dry-run']) == 0
    out = capsys.readouterr().out
    assert (f'1 runs are training now in other processes, so not started here:\n'
            f'  point_reach/dreamer/seed0 (PID {os.getpid()}, at step 40)\n') in out
    assert '0 done, 1 to train, 1 training in other processes.' in out
    assert 'dreamer' not in out.split('other processes.')[-1]  # Not among the commands.
    assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 0
    assert 'training in other processes' in capsys.readouterr().out
  assert calls(logdir) == []
  assert len(calls(root / 'point_reach/lsp/seed0')) == 1
  with logdir_lib.lock(logdir):  # Taken by another command after this one listed it.
    assert launch.execute(cmd.split() + ['--logdir', str(logdir)], logdir, 1) is None
  assert calls(logdir) == []
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd, '--dry-run']) == 0
  out = capsys.readouterr().out  # Released: the run is to be resumed here, from where it got.
  dreamer = [line for line in out.splitlines() if 'point_reach/dreamer/seed0' in line]
  assert len(dreamer) == 1 and dreamer[0].startswith('resume ')
  assert dreamer[0].endswith('  # from step 40')


def test_raised_steps_train_done_runs_further(fake, tmp_path, capsys):
  path, cmd = fake
  root = tmp_path / 'root'
  for method, steps in (('lsp', 100), ('dreamer', 50)):
    (root / f'point_reach/{method}/seed0').mkdir(parents=True)
    (root / f'point_reach/{method}/seed0/done').write_text(f'{steps}\n')
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 0
  out = capsys.readouterr().out
  assert ('point_reach/dreamer/seed0 is done at 50 steps; the sweep asks for 100: it is trained '
          'further.\n2 runs in') in out and '1 done, 1 to train' in out
  assert calls(root / 'point_reach/lsp/seed0') == []
  assert len(calls(root / 'point_reach/dreamer/seed0')) == 1


def test_collect_copies_the_result_files_of_finished_runs(fake, tmp_path, capsys):
  path, cmd = fake
  root, dest = tmp_path / 'root', tmp_path / 'results'
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 0
  finished = root / 'point_reach/lsp/seed0'
  save_sweep_configs(path, root)
  for name in set(results.RESULT_FILES) - {'config.yaml'}:
    (finished / name).write_text(f'{name} of the run\n')
  (finished / 'train_eps').mkdir()
  (root / 'point_reach/dreamer/seed0/done').unlink()
  capsys.readouterr()
  assert cli.main([str(path), '--root', str(root), '--collect', str(dest)]) == 0
  assert 'Copied 1 finished runs of 2' in capsys.readouterr().out
  copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob('*') if p.is_file())
  assert copied == [f'point_reach/lsp/seed0/{name}' for name in sorted(results.RESULT_FILES)]
  assert (dest / 'point_reach/lsp/seed0/metrics.jsonl').read_text() == 'metrics.jsonl of the run\n'



def test_collect_never_replaces_another_runs_results(fake, tmp_path, capsys):
  path, cmd = fake
  root, dest = tmp_path / 'root', tmp_path / 'results'
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 0
  run = root / 'point_reach/lsp/seed0'
  save_sweep_configs(path, root)
  (run / 'metrics.jsonl').write_text('{"step": 50}\n{"step": 100}\n')
  (run / 'code.jsonl').write_text('{"step": 0, "time": "first"}\n')
  assert cli.main([str(path), '--root', str(root), '--collect', str(dest)]) == 0
  copy = dest / 'point_reach/lsp/seed0/metrics.jsonl'
  with open(run / 'metrics.jsonl', 'a') as f:  # The same run, trained further: collected again.
    f.write('{"step": 150}\n')
  assert cli.main([str(path), '--root', str(root), '--collect', str(dest)]) == 0
  assert copy.read_text().endswith('{"step": 150}\n')
  (run / 'metrics.jsonl').write_text('{"step": 50, "other": 1}\n{"step": 100}\n')  # A rerun.
  (run / 'code.jsonl').write_text('{"step": 0, "time": "rerun"}\n')
  capsys.readouterr()
  assert cli.main([str(path), '--root', str(root), '--collect', str(dest)]) == 1
  err = capsys.readouterr().err
  assert f'Not collected: {copy.parent} holds the results of another run' in err
  assert copy.read_text() == '{"step": 50}\n{"step": 100}\n{"step": 150}\n'
  assert (copy.parent / 'code.jsonl').read_text() == '{"step": 0, "time": "first"}\n'
  assert (dest / 'point_reach/dreamer/seed0/labels.yaml').exists()  # The other runs are collected.

def test_collect_keeps_what_a_transfer_reads_under_the_size_limit(
    fake, tmp_path, capsys, monkeypatch):
  path, cmd = fake
  root, dest = tmp_path / 'root', tmp_path / 'results'
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd]) == 0
  small, large = root / 'point_reach/lsp/seed0', root / 'point_reach/dreamer/seed0'
  for run, size in ((small, 100), (large, 1000)):
    (run / 'checkpoint.old').mkdir()  # A save killed between its renames: .old is complete.
    (run / 'checkpoint.old/variables.index').write_bytes(b'i' * size)
    (run / 'train_eps').mkdir()
    np.savez(run / 'train_eps/episode.npz', reward=np.arange(size, dtype=np.float64))
  monkeypatch.setattr(results, 'KEEP_LIMIT_MB', 4000 / 2 ** 20)
  capsys.readouterr()
  args = [str(path), '--root', str(root), '--collect', str(dest), '--keep', 'checkpoint', 'train_eps']
  assert cli.main(args) == 0
  out = capsys.readouterr().out
  assert 'Kept checkpoint, train_eps of 1 runs.' in out
  assert f'Not kept: checkpoint, train_eps of {large}: they hold' in out
  assert 'over 0.003814697265625; regenerate them with the sweep.' in out
  kept = dest / 'point_reach/lsp/seed0'
  assert (kept / 'checkpoint/variables.index').read_bytes() == b'i' * 100
  assert (np.load(kept / 'train_eps/episode.npz')['reward'] == np.arange(100)).all()
  assert not (dest / 'point_reach/dreamer/seed0/checkpoint').exists()
  shutil.rmtree(small / 'checkpoint.old')  # A run without a checkpoint keeps nothing either.
  assert cli.main(args) == 0
  assert f'Not kept: checkpoint, train_eps of {small}: it has no checkpoint.' in (
      capsys.readouterr().out)
  assert (dest / 'point_reach/dreamer/seed0/labels.yaml').exists()  # The results are collected.
  assert cli.main([str(path), '--root', str(root), '--keep', 'checkpoint']) == 2
  assert '--keep goes with --collect' in capsys.readouterr().err


def test_runs_collected_elsewhere_count_as_done(fake, tmp_path, capsys):
  path, cmd = fake
  root, dest = tmp_path / 'root', tmp_path / 'results'
  for method, step in (('lsp', 100), ('dreamer', 60)):  # dreamer's copy stopped short.
    (dest / f'point_reach/{method}/seed0').mkdir(parents=True)

    (dest / f'point_reach/{method}/seed0/metrics.jsonl').write_text(f'{{"step": {step}}}\n')
  save_sweep_configs(path, dest)
  args = [str(path), '--root', str(root), '--train-cmd', cmd, '--collected', str(dest)]
  assert cli.main(args) == 0
  assert '1 runs are done in' in capsys.readouterr().out
  assert calls(root / 'point_reach/lsp/seed0') == []
  assert len(calls(root / 'point_reach/dreamer/seed0')) == 1


def test_runs_of_another_config_are_named_and_nothing_starts(fake, tmp_path, capsys):
  path, cmd = fake
  root, dest = tmp_path / 'root', tmp_path / 'results'
  (root / 'point_reach/lsp/seed0').mkdir(parents=True)
  (root / 'point_reach/dreamer/seed0').mkdir(parents=True)
  (root / 'point_reach/lsp/seed0/done').touch()
  save_sweep_configs(path, root, steps=100, eval_episodes=3)  # Keys a resume may change.
  args = [str(path), '--root', str(root), '--train-cmd', cmd]
  assert cli.main(args + ['--dry-run']) == 0
  save_sweep_configs(path, root, horizon=7)  # Another run: as done, it would pass as this one.
  capsys.readouterr()
  for extra in ([], ['--collect', str(dest)]):
    assert cli.main(args + extra) == 2
    err = capsys.readouterr().err
    assert f'{root}/point_reach/lsp/seed0 holds a run of another config (horizon: 7 -> ' in err
    assert f'{root}/point_reach/dreamer/seed0 holds a run' in err and 'No run was started' in err
  assert calls(root / 'point_reach/dreamer/seed0') == [] and not dest.exists()
  save_sweep_configs(path, root)
  (dest / 'point_reach/lsp/seed0').mkdir(parents=True)  # A collected copy of another config.
  save_sweep_configs(path, dest, model_lr=1e-3)
  assert cli.main(args + ['--collected', str(dest)]) == 2
  assert f'{dest}/point_reach/lsp/seed0 holds a run of another config (model_lr: 0.001 -> ' in (
      capsys.readouterr().err)

def test_only_trains_the_chosen_part_of_a_sweep(fake, tmp_path, capsys):
  path, cmd = fake
  YAML(typ='safe', pure=True).dump(
      {'methods': ['lsp', 'dreamer'], 'tasks': ['point_reach'], 'seeds': [0, 1, 2],
       'overrides': {'steps': 100}}, path)
  root = tmp_path / 'root'
  assert cli.main([
      str(path), '--root', str(root), '--train-cmd', cmd, '--only', 'method=dreamer',
      'seed=1,2']) == 0
  trained = sorted(str(p.parent.relative_to(root)) for p in root.rglob('calls.txt'))
  assert trained == ['point_reach/dreamer/seed1', 'point_reach/dreamer/seed2']
  for only, message in (('methd=lsp', "Unknown --only field 'methd'. Did you mean 'method'"),
                        ('seed=7', '--only seed=7 matches no run'), ('seed', 'FIELD=VALUE')):
    capsys.readouterr()
    assert cli.main([str(path), '--root', str(root), '--only', only, '--dry-run']) == 2
    assert message in capsys.readouterr().err


def test_failed_runs_are_reported(fake, tmp_path, capsys):
  path, cmd = fake
  YAML(typ='safe', pure=True).dump({
      'methods': {'good': ['lsp'], 'bad': {'configs': ['dreamer'], 'method': 'bad'}},
      'tasks': ['point_reach'], 'seeds': [0, 1]}, path)
  root = tmp_path / 'root'
  assert cli.main([str(path), '--root', str(root), '--train-cmd', cmd, '--workers', '2']) == 1
  out = capsys.readouterr().out
  for seed in (0, 1):
    assert (root / f'point_reach/good/seed{seed}/done').exists()
    log = root / f'point_reach/bad/seed{seed}'
    assert f'Failed: {log.parent}/seed{seed}, log: {log}/stdout.log' in out
  assert out.count('exit 3') == 2


def test_ray_runs_on_a_local_cluster(fake, tmp_path):
  path, cmd = fake
  root = tmp_path / 'root'
  result = subprocess.run(
      [sys.executable, '-m', 'dreamer_lsp.sweep', str(path), '--root', str(root),
       '--ray', 'local', '--train-cmd', cmd],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stdout + result.stderr
  assert '[2/2] ok' in result.stdout
  for method in ('lsp', 'dreamer'):
    assert (root / f'point_reach/{method}/seed0/done').exists()
    assert calls(root / f'point_reach/{method}/seed0') == [
        f'--configs {method} --steps 100 --task point_reach --seed 0 '
        f'--logdir {root}/point_reach/{method}/seed0']


@pytest.mark.slow
def test_tiny_sweep_end_to_end_with_train_py(tmp_path):
  """sweeps/tiny.yaml shrunk to the debug preset, with the real train.py: a minute."""
  root = tmp_path / 'tiny'
  sweep = tmp_path / 'tiny.yaml'
  sweep.write_text((REPO / 'sweeps/tiny.yaml').read_text().replace(
      'configs: [point]', 'configs: [debug]'))
  command = [sys.executable, '-m', 'dreamer_lsp.sweep', str(sweep), '--root', str(root)]
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1500)
  logs = '\n'.join(path.read_text()[-3000:] for path in root.rglob('stdout.log'))
  assert result.returncode == 0, result.stdout + logs
  runs = sorted(path.parent for path in root.rglob('config.yaml'))
  assert [str(run.relative_to(root)) for run in runs] == [
      'point_reach/dreamer/seed0', 'point_reach/dreamer/seed1',
      'point_reach/lsp/seed0', 'point_reach/lsp/seed1']
  for run in runs:
    assert (run / 'done').exists() and (run / 'metrics.jsonl').exists()
  reports = report.report(root, root / 'report', metrics=['train_return'])
  assert set(reports['train_return'].method) == {'lsp', 'dreamer'}
  assert (root / 'report/train_return.png').exists()
  result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
  assert result.returncode == 0 and '4 done, 0 to train' in result.stdout


def test_the_smoke_of_every_shipped_sweep_starts_each_task_and_method(tmp_path):
  """What `--smoke` starts for each shipped sweep, without training (make test-all trains it:
  the test below): every task and every method once, seed 0, at debug sizes with the smoke's
  run length, and each of these runs a config that train.py accepts."""
  smoke_flags = {key: str(value) for key, value in spec.SMOKE_FLAGS.items()}
  for path in sorted((REPO / 'sweeps').glob('*.yaml')):
    runs = spec.expand(spec.load(path), tmp_path)
    chosen = spec.smoke(runs)
    for field in ('task', 'method'):
      assert {run.labels[field] for run in chosen} == {run.labels[field] for run in runs}, (
          path.name, field)
    assert {run.logdir.name for run in chosen} == {runs[0].logdir.name}, path.name
    for run in chosen:
      presets, run_flags = flags(run.args)
      assert presets[0] == 'debug', (path.name, presets)
      assert {key: run_flags[key] for key in smoke_flags} == smoke_flags, (path.name, run_flags)
    spec.check(chosen, tmp_path)


@pytest.mark.exhaustive
def test_every_shipped_sweep_runs_end_to_end_at_debug_sizes(tmp_path):
  """`--smoke` of every file in sweeps/ with the real train.py: every task and method starts,
  trains and evaluates; the transfer sweep loads the runs of its source sweep (K and H change
  for Obstacles -> Cove)."""
  files = sorted((REPO / 'sweeps').glob('*.yaml'))
  # Sources before the sweeps that load them.
  files.sort(key=lambda path: 'transfer_from' in path.read_text())
  for path in files:
    text = path.read_text().replace('logdir/', f'{tmp_path}/').replace(  # A source sweep's root,
        'docs/results/transfer/source_runs', f'{tmp_path}/transfer_cpu_source')  # or its copy.
    (tmp_path / path.name).write_text(text)
    root = tmp_path / path.stem
    result = subprocess.run(
        [sys.executable, '-m', 'dreamer_lsp.sweep', str(tmp_path / path.name), '--smoke',
         '--root', str(root)], cwd=REPO, capture_output=True, text=True, timeout=1800)
    logs = '\n'.join(log.read_text()[-2000:] for log in root.rglob('stdout.log'))
    assert result.returncode == 0, (path.name, result.stdout, logs)
    runs = [run.parent for run in root.rglob('done')]
    assert runs, path.name
    for run in runs:
      assert (run / 'checkpoint' / 'variables.index').exists(), run
    if 'transfer_from' in text:
      assert 'Initialised the networks from' in logs
      assert 'The skill predictor starts afresh' in logs  # Obstacles -> Cove: K 10 -> 30.
