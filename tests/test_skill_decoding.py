"""The behaviour-level skill measure on synthetic episodes whose answer is known."""
import numpy as np
import pytest

from dreamer_lsp import skill_decoding

K, DIM, OBS = 5, 3, 4


def episodes(count=12, windows=10, informative=True, from_start=False, seed=0):
  """Episodes as train.py stores them: index 0 is the reset, the skill of step t (switched
  every K steps from step 1) acted on the observation of step t - 1. Under a skill the
  observation moves by z @ mixing per step plus noise (informative), or at random; with
  from_start the skill is read off the observation it starts from, which then moves at random."""
  rng = np.random.RandomState(seed)
  mixing = rng.randn(DIM, OBS)
  result = []
  for _ in range(count):
    obs, skills, switch = [rng.randn(OBS)], [np.zeros(DIM)], [False]
    for step in range(windows * K + 2):  # Two steps left over: a window cut short.
      if step % K == 0:
        z = obs[-1][:DIM] + 0.1 * rng.randn(DIM) if from_start else rng.randn(DIM)
      move = z @ mixing if informative and not from_start else rng.randn(OBS)
      obs.append(obs[-1] + 0.3 * move + 0.1 * rng.randn(OBS))
      skills.append(z)
      switch.append(step % K == 0)
    result.append(dict(vector=np.array(obs, np.float32), skill=np.array(skills, np.float32),
                       skill_switch=np.array(switch)))
  return result


def test_windows_are_the_start_observation_and_the_changes_that_followed():
  episode = episodes(count=1, windows=2)[0]
  behaviour, starts, skills, groups = skill_decoding.skill_windows([episode], K)
  assert len(skills) == 2  # The window cut short by the episode's end is left out.
  obs = episode['vector']
  np.testing.assert_allclose(starts[1], obs[K])  # The second skill was chosen at step K.
  np.testing.assert_allclose(behaviour[1], np.concatenate([obs[K], (obs[K + 1:2 * K + 1] - obs[K]).ravel()]))
  np.testing.assert_allclose(skills[1], episode['skill'][K + 1])
  assert groups.tolist() == [0, 0]


def test_skills_that_move_the_observations_are_decoded_from_the_behaviour():
  behaviour, start, windows = skill_decoding.skill_r2(episodes(), K, folds=5)
  assert windows == 12 * 10
  assert behaviour > 0.85, behaviour
  assert abs(start) < 0.1, start


def test_skills_independent_of_the_observations_decode_to_nothing():
  behaviour, start, _ = skill_decoding.skill_r2(episodes(informative=False), K, folds=5)
  assert -0.15 < behaviour < 0.05 and -0.15 < start < 0.05, (behaviour, start)


def test_skills_chosen_from_the_state_are_decoded_from_the_start_alone():
  """The reference: what the behaviour adds beyond the start observation is nothing here."""
  behaviour, start, _ = skill_decoding.skill_r2(episodes(from_start=True), K, folds=5)
  assert start > 0.8, start
  assert behaviour < start + 0.05, (behaviour, start)


def test_folds_never_mix_episodes(monkeypatch):
  """The inputs' first column holds each window's episode: no fit sees a scored episode."""
  behaviour, _, skills, groups = skill_decoding.skill_windows(episodes(count=7), K)
  inputs = np.concatenate([groups[:, None].astype(float), behaviour], 1)
  splits = []
  ridge = skill_decoding._ridge
  monkeypatch.setattr(skill_decoding, '_ridge', lambda x, y, x_test: (
      splits.append((set(x[:, 0]), set(x_test[:, 0]))), ridge(x, y, x_test))[1])
  skill_decoding.decode(inputs, skills, groups, folds=3)
  assert len(splits) == 3
  for fitted, scored in splits:
    assert not fitted & scored and fitted | scored == set(range(7))
  assert set.union(*(scored for _, scored in splits)) == set(range(7))


@pytest.mark.parametrize('count', [0, 1])
def test_too_few_episodes_give_none(count):
  behaviour, start, _ = skill_decoding.skill_r2(episodes(count=count), K, folds=5)
  assert behaviour is None and start is None
