"""How much of a skill the agent's real behaviour reveals: a cross-validated linear decoder from
what the agent did under each skill in the environment to the skill z. NumPy only.

One sample per whole skill window of the episodes train.py stores (`skill`, `skill_switch` and
the `vector` observations of a features run): the observation a skill was chosen at (its start),
the `duration` observations that followed under it, and its z. Two decoders, the same estimator:
  - `behaviour`: the start observation and each following observation's change from it;
  - `start`: the start observation alone. Skills chosen from the state (a planner's, a skill
    policy's) can be read from it without any behaviour: it is the reference.
Each is a ridge regression on standardised inputs, its penalty per skill dimension chosen by
generalised cross-validation on the training folds, scored by k-fold cross-validation over whole
episodes (the windows of an episode are never both fitted and scored): R² of the held-out
predictions of all folds, averaged over the skill's dimensions. 0: no better than the skills'
mean; `behaviour` above `start`: the behaviour under a skill tells more about it than the state
it started from.
"""
import numpy as np

# Ridge penalties, in units of the number of training windows (on standardised inputs, each
# input's squared norm): from almost none to shrinking every prediction to the mean.
PENALTIES = 10.0 ** np.arange(-4, 2.5, 0.5)


def skill_windows(episodes, duration, key='vector'):
  """From episodes as train.py stores them (index 0 the reset; the skill of step t acted on the
  observation of step t - 1): the behaviour decoder's inputs [W, (duration + 1) * D], the start
  decoder's [W, D], the skills [W, skill_dim] and each window's episode [W]. Windows that the
  episode's end cuts short are left out."""
  behaviour, starts, skills, groups = [], [], [], []
  for index, episode in enumerate(episodes):
    obs = episode[key].reshape(len(episode[key]), -1).astype(np.float64)
    switch = episode['skill_switch'].astype(bool)
    for t in np.flatnonzero(switch):
      if t < 1 or t + duration > len(obs) or switch[t + 1:t + duration].any():
        continue
      start = obs[t - 1]
      behaviour.append(np.concatenate([start, (obs[t:t + duration] - start).ravel()]))
      starts.append(start)
      skills.append(episode['skill'][t])
      groups.append(index)
  if not groups:  # No whole window yet.
    empty = np.zeros((0, 0))
    return empty, empty, empty, np.zeros(0, int)
  stack = lambda rows: np.array(rows, np.float64).reshape(len(rows), -1)
  return stack(behaviour), stack(starts), stack(skills), np.array(groups)


def decode(inputs, skills, groups, folds):
  """Held-out R² of a ridge decoder from inputs [W, F] to skills [W, Z], averaged over the
  dimensions that vary, with folds that split the windows by their episode (groups [W]); None
  when there are fewer than two episodes or no dimension varies."""
  episodes = np.unique(groups)
  folds = min(folds, len(episodes))
  if folds < 2:
    return None
  spread = skills.var(0) > 1e-12
  if not spread.any():
    return None
  fold = np.searchsorted(episodes, groups) % folds  # Episodes in turn, so folds mix old and new.
  predictions = np.empty_like(skills)
  for k in range(folds):
    test = fold == k
    predictions[test] = _ridge(inputs[~test], skills[~test], inputs[test])
  residual = ((skills - predictions) ** 2).sum(0)
  total = ((skills - skills.mean(0)) ** 2).sum(0)
  return float(np.mean(1 - residual[spread] / total[spread]))


def skill_r2(episodes, duration, folds, key='vector'):
  """The held-out R² of the behaviour decoder and of the start decoder over the episodes' skill
  windows, and the number of windows; None for each R² that cannot be computed."""
  behaviour, starts, skills, groups = skill_windows(episodes, duration, key)
  return (decode(behaviour, skills, groups, folds), decode(starts, skills, groups, folds),
          len(skills))


def _ridge(x, y, x_test):
  """Ridge regression with an intercept of y [N, Z] on x [N, F], standardised by x's statistics;
  each target's penalty the one of PENALTIES with the least generalised cross-validation error
  on (x, y). Predictions [M, Z] for x_test [M, F]."""
  mean, std = x.mean(0), x.std(0)
  std[std < 1e-12] = 1.0  # A constant input is 0 after centring.
  x, x_test = (x - mean) / std, (x_test - mean) / std
  offset = y.mean(0)
  y = y - offset
  count = len(x)
  # Through the eigendecomposition of the smaller Gram matrix: X = U S V^T, and with coords
  # the targets' coordinates c = U^T y (kernel form) or S c (primal form),
  # predictions(penalty) = basis diag(1 / (s^2 + penalty)) coords.
  if count <= x.shape[1]:
    s2, u = np.linalg.eigh(x @ x.T)
    basis, coords = x_test @ (x.T @ u), u.T @ y
    c = coords
  else:
    s2, v = np.linalg.eigh(x.T @ x)
    basis, coords = x_test @ v, v.T @ (x.T @ y)
    c = coords / np.sqrt(np.maximum(s2, 1e-12))[:, None]
  s2 = np.maximum(s2, 0.0)
  c[s2 < 1e-9] = 0.0  # Directions without data.
  outside = (y ** 2).sum(0) - (c ** 2).sum(0)  # What no penalty can fit.
  penalties = PENALTIES[:, None] * count  # [P, 1]
  shrink = penalties[:, :, None] / (s2[None, :, None] + penalties[:, :, None])  # [P, R, 1]
  residual = outside + ((shrink * c) ** 2).sum(1)  # [P, Z]
  freedom = (1 - shrink).sum(1)  # [P, 1]
  error = residual / np.maximum(count - 1 - freedom, 1e-9) ** 2
  penalty = penalties[error.argmin(0), 0]  # [Z]
  return basis @ (coords / (s2[:, None] + penalty)) + offset
