"""The skill visualiser on a tiny LSP run of point_reach, and its errors."""
import json
import subprocess
import sys

import imageio.v2 as imageio
import numpy as np
import pytest

from conftest import REPO
from dreamer_lsp import config as config_lib
from dreamer_lsp import visualize


@pytest.mark.slow
def test_skills_from_one_start(finished_lsp_run, tmp_path):
  out = tmp_path / 'skills'
  result = subprocess.run(
      [sys.executable, '-m', 'dreamer_lsp.visualize', str(finished_lsp_run), '--skills', '3',
       '--steps', '10', '--out', str(out)], cwd=REPO, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr
  assert 'spread' in result.stdout
  for index in range(3):
    assert imageio.imread(out / f'skill_{index}.png').shape == (64, 64, 3)
  assert imageio.imread(out / 'skills.png').shape == (64, 3 * 64 + 2 * 2, 3)
  video = np.array(imageio.mimread(out / 'skills.mp4'))
  assert video.shape == (11, 64, 196, 3)
  tiles = [video[0, :, i * 66: i * 66 + 64].astype(int) for i in range(3)]
  assert all(np.abs(tile - tiles[0]).mean() < 2 for tile in tiles)  # One start (H.264 is lossy).
  assert (out / 'diversity.png').stat().st_size > 10_000
  stats = json.loads((out / 'diversity.json').read_text())
  assert stats['basis'] == 'log_pos' and stats['steps'] == 10 and stats['skills'] == 3
  assert np.isfinite(stats['spread']) and stats['spread'] > 0
  assert np.isfinite(stats['travel']) and stats['travel'] > 0
  assert stats['reach'] >= stats['travel']  # The farthest point of any path, its end included.
  # Sampled actions spread even one skill's rollouts; the ratio compares the skills to that.
  assert stats['spread_one_skill'] > 0
  assert stats['diversity'] == pytest.approx(stats['spread_sampled'] / stats['spread_one_skill'])


@pytest.mark.slow
def test_runs_without_skills_or_checkpoint_are_refused(finished_lsp_run, tmp_path, capsys):
  config = config_lib.Config(config_lib.load_yaml(finished_lsp_run / 'config.yaml'))
  for name, skills in (('dreamer', 'none'), ('untrained', 'cem')):
    (tmp_path / name).mkdir()
    config.update(skills=skills).save(tmp_path / name / 'config.yaml')
  (tmp_path / 'empty').mkdir()
  expected = {
      'dreamer': 'is a Dreamer run (skills: none)', 'untrained': 'No checkpoint at',
      'empty': 'no config.yaml'}
  for name, message in expected.items():
    assert visualize.main([str(tmp_path / name), '--skills', '2', '--steps', '2']) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / name / 'skills').exists()


def test_composite_draws_every_position_over_the_background():
  frames = np.full((9, 8, 16, 3), 255, np.uint8)
  for t in range(9):
    frames[t, 4, t] = (220, 0, 0)  # A dot moving right, one pixel per frame.
  image = visualize.composite(frames, count=5)
  red = np.flatnonzero(image[4, :, 1] < 255)
  np.testing.assert_array_equal(red, [0, 2, 4, 6, 8])
  assert image[4, 0, 1] > image[4, 8, 1]  # Older frames are fainter.
  assert (image[:4] == 255).all()


def test_paths_of_vectors_use_principal_components(tmp_path):
  trace = np.random.RandomState(0).randn(6, 3, 10)
  stats = dict(skills=3, steps=5, spread=1.0, travel=1.0, diversity=1.0)
  visualize.plot_paths(trace, 'vector', stats, tmp_path / 'paths.png', 'test')
  assert (tmp_path / 'paths.png').stat().st_size > 10_000
