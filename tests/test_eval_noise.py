"""scripts/eval_noise.py: the standard error of a run's final beside its evaluations' swings."""
import numpy as np
import pytest

from scripts.eval_noise import eval_noise


def _run(path, returns, episodes_per_eval):
  (path / 'config.yaml').write_text(f'eval_episodes: {episodes_per_eval}\n')
  (path / 'eval_eps').mkdir()
  for index, total in enumerate(returns):
    reward = np.full(6, total / 5, np.float32)
    reward[0] = 1e6  # The first step's reward is not the agent's and is not counted.
    np.savez(path / 'eval_eps' / f'2026{index:02d}-500.npz', reward=reward)


def test_the_final_and_its_standard_error_come_from_the_last_evaluations(tmp_path):
  # Three evaluations of two episodes; a fourth cut short by the end of the run is left out.
  _run(tmp_path, [0, 10, 100, 110, 200, 220, 5], episodes_per_eval=2)
  row = eval_noise(tmp_path, last=2, late=3)
  assert row['evals'] == 3 and row['episodes_per_eval'] == 2
  assert row['final'] == pytest.approx(157.5)  # The mean of 100, 110, 200, 220.
  assert row['final_standard_error'] == pytest.approx(np.std([100, 110, 200, 220], ddof=1) / 2)
  assert row['episode_std'] == pytest.approx(np.mean([np.std(p, ddof=1) for p in (
      [0, 10], [100, 110], [200, 220])]))
  assert row['late_eval_std'] == pytest.approx(np.std([5, 105, 210], ddof=1))


def test_too_few_eval_episodes_is_a_clear_error(tmp_path):
  _run(tmp_path, [1, 2, 3], episodes_per_eval=2)
  with pytest.raises(ValueError, match='fewer than 2'):
    eval_noise(tmp_path)
