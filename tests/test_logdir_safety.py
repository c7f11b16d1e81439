"""What train.py does with a logdir it must not train in, or not yet: one that another run
writes, a finished run, files without a config, bad sources; each refused with one line and
nothing written."""
import errno
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import train
from conftest import REPO, debug_config, start_train
from dreamer_lsp import config as config_lib
from dreamer_lsp import logdir as logdir_lib

ARGS = ['--configs', 'debug', 'dreamer']


@pytest.fixture(autouse=True)
def signals():
  """train.main installs handlers for SIGINT and SIGTERM: give pytest its own back."""
  saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
  yield
  for signum, handler in saved.items():
    signal.signal(signum, handler)


def snapshot(logdir):
  """Every file under logdir but the lock with its size and modification time."""
  return {
      str(path.relative_to(logdir)): (path.stat().st_size, path.stat().st_mtime_ns)
      for path in sorted(logdir.rglob('*')) if path.is_file() and path.name != '.lock'}


def finished_run(logdir, done='600\n'):
  """A logdir as a debug dreamer run of 600 steps leaves it, one of its episodes damaged."""
  config = debug_config('dreamer', logdir=str(logdir))
  logdir.mkdir(parents=True, exist_ok=True)
  config.save(logdir / 'config.yaml')
  import tools
  for index in range(12):
    path = tools.save_episode(logdir / 'train_eps', {
        'vector': np.zeros((51, 2), np.float32), 'log_pos': np.zeros((51, 1, 2), np.float32),
        'action': np.zeros((51, 2), np.float32),
        'reward': np.ones(51, np.float32), 'discount': np.ones(51, np.float32)})
  path.write_bytes(path.read_bytes()[:100])  # Damaged: the episodes now count 550 steps.
  lines = [{'step': step, 'train_return': 50.0} for step in range(50, 650, 50)]
  lines += [{'step': 600, 'eval_return': 42.0}]
  (logdir / 'metrics.jsonl').write_text(''.join(json.dumps(line) + '\n' for line in lines))
  (logdir / 'done').write_text(done)
  return logdir


def test_second_writer_is_refused_and_changes_nothing(tmp_path, capsys):
  logdir = finished_run(tmp_path / 'run')
  with logdir_lib.lock(logdir):
    before = snapshot(logdir)
    assert train.main([*ARGS, '--steps', '900', '--logdir', str(logdir)]) == 2
    assert snapshot(logdir) == before
  err = capsys.readouterr().err
  assert err == (
      f'error: {logdir} is in use by another run (PID {os.getpid()}); wait for it to end, or '
      'stop it, before running this command.\n')


def test_lock_dies_with_its_process(tmp_path):
  hold = ('import sys, time; from dreamer_lsp import logdir; '
          'lock = logdir.lock(sys.argv[1]); print("locked", flush=True); time.sleep(60)')
  process = subprocess.Popen(
      [sys.executable, '-c', hold, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
  try:
    assert process.stdout.readline() == 'locked\n'
    assert logdir_lib.holder(tmp_path) == str(process.pid)
    with pytest.raises(logdir_lib.Busy, match=f'PID {process.pid}'):
      logdir_lib.lock(tmp_path)
  finally:
    process.kill()
    process.wait()
  assert logdir_lib.holder(tmp_path) is None  # The lock file stays; the lock went with its holder.
  logdir_lib.lock(tmp_path).close()


@pytest.mark.parametrize('done', ['600\n', ''])  # '': a `done` from before it held the step.
def test_finished_run_is_complete_and_untouched(tmp_path, capsys, done):
  logdir = finished_run(tmp_path / 'run', done)
  before = snapshot(logdir)
  assert train.main([*ARGS, '--logdir', str(logdir)]) == 0
  assert f'{logdir} is complete (600 steps); raise --steps' in capsys.readouterr().out
  assert snapshot(logdir) == before


@pytest.mark.parametrize('name', ['train_eps', 'metrics.jsonl', 'checkpoint'])
def test_run_files_without_a_config_are_refused(tmp_path, capsys, name):
  path = tmp_path / name
  path.write_text('{"step": 100}\n') if path.suffix else path.mkdir()
  before = snapshot(tmp_path)
  assert train.main([*ARGS, '--logdir', str(tmp_path)]) == 2
  assert capsys.readouterr().err == (
      f'error: {tmp_path} holds the files of a run ({name}) but no config.yaml, so what ran '
      'there is unknown: restore its config.yaml, or move the files aside, or use a new '
      '--logdir.\n')
  assert snapshot(tmp_path) == before and not (tmp_path / 'config.yaml').exists()


@pytest.mark.slow
def test_a_failed_first_checkpoint_loses_no_metrics_no_updates_and_no_results(
    tmp_path, monkeypatch, capsys):
  import tensorflow as tf
  args = [*ARGS, '--steps', '300', '--checkpoint_every', '100', '--logdir', str(tmp_path)]

  def full_disk(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  with monkeypatch.context() as patch:
    patch.setattr(tf.train.Checkpoint, 'write', full_disk)  # The first save, at step 200.
    assert train.main(args) == 1
  [error] = [line for line in capsys.readouterr().err.splitlines() if line.startswith('error: ')]
  assert error.startswith(f'error: Cannot write the checkpoint to {tmp_path}/checkpoint.tmp: ')
  metrics = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').open()]
  assert [m['step'] for m in metrics if 'train_return' in m] == [50, 100, 150, 200]
  # The same command makes up the 10 updates of steps 100-200 and trains to the end, where
  # returns.png cannot be written; then once more, it plots and is done.
  (tmp_path / 'returns.png').mkdir()
  assert train.main(args) == 1
  output = capsys.readouterr()
  assert 'No checkpoint at step 200: making up its 10 updates.' in output.out
  [error] = [line for line in output.err.splitlines() if line.startswith('error: ')]
  assert error.startswith(f'error: Cannot write the returns plot to {tmp_path}/returns.png: ')
  assert not (tmp_path / 'done').exists()
  (tmp_path / 'returns.png').rmdir()
  assert train.main(args) == 0
  assert (tmp_path / 'done').read_text() == '300\n' and (tmp_path / 'returns.png').is_file()
  # A larger --steps extends it from step 300, though an episode is damaged: no line is dropped.
  metrics = (tmp_path / 'metrics.jsonl').read_text()
  episode = sorted((tmp_path / 'train_eps').glob('*.npz'))[0]
  episode.write_bytes(episode.read_bytes()[:100])
  assert train.main([*args, '--steps', '400']) == 0  # The last --steps wins.
  assert (tmp_path / 'metrics.jsonl').read_text().startswith(metrics)
  assert (tmp_path / 'done').read_text() == '400\n'


def test_a_bad_task_or_source_stops_before_tensorflow_and_writes_nothing(tmp_path):
  cases = {
      '--task': ('gym:NoSuchEnv-v0', "Unknown task 'gym:NoSuchEnv-v0': Environment `NoSuchEnv` "
                 "doesn't exist."),
      '--transfer_from': (f'{tmp_path}/nowhere', f'--transfer_from {tmp_path}/nowhere holds no '
                          'checkpoint'),
      '--relabel_from': (f'{tmp_path}/nowhere', f'--relabel_from {tmp_path}/nowhere holds no '
                         'episodes')}
  argvs = [[*ARGS, flag, value, '--logdir', str(tmp_path / 'run')]
           for flag, (value, _) in cases.items()]
  script = ('import json, sys, train; '
            'print([train.main(argv) for argv in json.loads(sys.argv[1])], '
            '"tensorflow" in sys.modules)')
  result = subprocess.run(
      [sys.executable, '-c', script, json.dumps(argvs)], cwd=REPO, capture_output=True,
      text=True, timeout=120)
  assert result.stdout == '[2, 2, 2] False\n', result.stderr
  errors = [line for line in result.stderr.splitlines() if line.startswith('error: ')]
  assert len(errors) == 3
  for error, (_, message) in zip(errors, cases.values()):
    assert message in error
  assert not (tmp_path / 'run').exists()


def test_a_source_still_training_is_refused_and_a_collected_copy_is_not(tmp_path, capsys):
  """A source mid-training holds a checkpoint and episodes, of fewer steps than it will have:
  a target started from it would transfer a half-trained source without a word."""
  source = finished_run(tmp_path / 'source')
  (source / 'checkpoint').mkdir()
  (source / 'checkpoint' / 'variables.index').write_bytes(b'')
  (source / 'done').unlink()
  lines = (source / 'metrics.jsonl').read_text().splitlines()
  (source / 'metrics.jsonl').write_text('\n'.join(lines[:6]) + '\n')  # Up to step 300 of 600.
  for flag in ('--transfer_from', '--relabel_from'):
    target = tmp_path / flag.strip('-')
    assert train.main([*ARGS, flag, str(source), '--logdir', str(target)]) == 2
    assert capsys.readouterr().err == (
        f'error: {flag} {source} is not a finished run: it has trained 300 of its 600 steps. '
        'Finish it first (run its command again), or give the logdir of a finished run.\n')
    assert not target.exists()
  # A collected copy holds no `done`; its metrics reach its config's steps.
  (source / 'metrics.jsonl').write_text('\n'.join(lines) + '\n')
  config = config_lib.parse_args(
      [*ARGS, '--transfer_from', str(source), '--relabel_from', str(source),
       '--logdir', str(tmp_path / 'target')])
  train._check_sources(config)


def test_a_failed_config_write_is_one_line(tmp_path, monkeypatch, capsys):
  def full_disk(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  monkeypatch.setattr(os, 'replace', full_disk)
  assert train.main([*ARGS, '--logdir', str(tmp_path)]) == 1
  err = capsys.readouterr().err
  assert err.startswith(
      f'error: Cannot write the config to {tmp_path}/config.yaml: No space left on device; ')
  assert err.count('\n') == 1 and sorted(os.listdir(tmp_path)) == ['.lock']


@pytest.mark.parametrize('case, message', [
    ('a file', '--logdir {logdir} is a file; give a folder.'),
    ('corrupt', 'Cannot read {logdir}/config.yaml: while scanning'),
    ('empty', '{logdir}/config.yaml holds no keys and values (it is empty or corrupt). It is the '
     'config of the run in {logdir}: restore it, or use a new --logdir.'),
])
def test_a_bad_logdir_is_one_line(tmp_path, capsys, case, message):
  logdir = tmp_path / 'run'
  if case == 'a file':
    logdir.write_text('')
  else:
    finished_run(logdir)
    (logdir / 'config.yaml').write_text('"task: [' if case == 'corrupt' else '')
  assert train.main([*ARGS, '--logdir', str(logdir)]) == 2
  err = capsys.readouterr().err
  assert err.startswith('error: ') and err.count('\n') == 1
  assert message.format(logdir=logdir) in err


@pytest.mark.parametrize('text, message', [
    (None, 'Cannot read {path}: No such file or directory.'),
    ('', '{path} holds no keys and values (it is empty or corrupt).'),
    ('defaults: {steps: 5', 'Cannot read {path}: while parsing'),
    ('defaults: [steps]', '{path} has no `defaults:` block of keys and values.'),
    ('defaults: {steps: 5}\nmine: {stesp: 3}',
     "Preset 'mine' of {path}: Unknown config key 'stesp'. Did you mean 'steps'?"),
])
def test_a_bad_configs_file_is_one_line(tmp_path, text, message):
  path = tmp_path / 'configs.yaml'
  if text is not None:
    path.write_text(text)
  with pytest.raises(config_lib.ConfigError) as info:
    config_lib.parse_args(['--configs', 'mine'], path)
  assert message.format(path=path) in str(info.value) and '\n' not in str(info.value)


def test_an_episode_of_another_shape_is_named(tmp_path, capsys):
  debug_config('dreamer', logdir=str(tmp_path)).save(tmp_path / 'config.yaml')
  import tools
  path = tools.save_episode(tmp_path / 'train_eps', {
      'vector': np.zeros((51, 3), np.float32), 'action': np.zeros((51, 2), np.float32),
      'reward': np.ones(51, np.float32), 'discount': np.ones(51, np.float32)})
  assert train.main([*ARGS, '--logdir', str(tmp_path)]) == 1
  assert capsys.readouterr().err == (
      f"error: Episode file {path} is not of this run: its 'vector' has shape (3,), this run's "
      f'(2,). Move it out of {tmp_path}/train_eps.\n')


def test_a_failed_video_write_leaves_no_file(tmp_path, monkeypatch):
  import imageio
  import tools

  def full_disk(path, *args, **kwargs):
    open(path, 'wb').close()  # ffmpeg has opened its output.
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  monkeypatch.setattr(imageio, 'mimsave', full_disk)
  logger = tools.Logger(tmp_path, step=5)
  with pytest.raises(tools.WriteError, match=(
      f'^Cannot write the video to {tmp_path}/videos/eval_00000005.mp4: No space left on '
      'device; ')):
    logger.video('eval', np.zeros((3, 8, 8, 3), np.uint8))
  assert list((tmp_path / 'videos').iterdir()) == []


def test_sigterm_in_the_prefill_does_not_claim_a_checkpoint(tmp_path):
  process = start_train(tmp_path, *ARGS, '--prefill', '100000', '--steps', '200000')
  line = ''
  while not line.startswith('Prefilling'):
    line = process.stdout.readline()
    assert line or process.poll() is None, 'exited before the prefill'
  process.send_signal(signal.SIGTERM)
  output, _ = process.communicate(timeout=60)
  assert process.returncode == 128 + signal.SIGTERM, output
  assert ('Interrupted by signal 15: before the training loop, no checkpoint saved; the saved '
          'episodes are kept; run the same command to resume.') in output
  assert not (tmp_path / 'checkpoint').exists()
