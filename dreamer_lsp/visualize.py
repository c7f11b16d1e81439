"""The learned skills of an LSP run (Sec. 4.5, Fig. 7) and the skill collapse diagnostic (A.7).

  python -m dreamer_lsp.visualize LOGDIR [--skills 8] [--steps 40] [--seed 0] [--out DIR]
      [--size H W]

Every skill is rolled out in the environment from the same initial state (each rollout's env is
created with the same seed) and held fixed for the whole rollout: skill i is z_i ~ N(0, I), drawn
with the seed (the distribution CEM starts from). The low-level actor q(a | s, z_i) acts with its
mode tanh(mean), as in evaluation, on the posterior state filtered from the observations. A
rollout stops early where an episode ends. LSP's own policy re-plans the skill every K steps, so
the rollout acts through `LSP.act_with_skill`, which holds the given skill. Frames have the
run's size, or --size for runs on features.
DIR (default LOGDIR/skills) gets:

  skill_I.png     the frames of skill I composited over the background, older ones fainter
  skills.png      the composites of all skills, row by row
  skills.mp4      the rollouts of all skills side by side
  diversity.png   the x-y paths of all skills (log_root_pos of the quadruped tasks, log_pos of
                  point_reach); for tasks without positions, the paths of the observation
                  vectors (or, on pixels, of the model features) projected on their first two
                  principal components
  diversity.json  `spread`, the mean pairwise distance between the skills' final positions (or
                  vectors), `travel`, their mean distance from the start, `reach`, the
                  farthest any skill got from the start at any step, and the `basis`
                  they were measured in. Skills that collapsed to one motion overlap: spread
                  near 0 where travel is not. With actions sampled from the actor instead of
                  its mode: `spread_sampled` of the skills, `spread_one_skill` of the first
                  skill in every rollout (sampling noise alone), and `diversity`, their ratio:
                  about 1 when skills change nothing, well above 1 when they lead apart.
"""
import argparse
import json
import pathlib
import sys

import imageio
import matplotlib
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

import tools
from dreamer_lsp import config as config_lib
from dreamer_lsp import envs as envs_lib
from dreamer_lsp import lsp

POSITIONS = ('log_root_pos', 'log_pos')  # Per simulator step; the last one ends the agent step.


def visualize(logdir, out, skills=8, steps=40, seed=0, size=None):
  logdir, out = pathlib.Path(logdir), pathlib.Path(out)
  if not (logdir / 'config.yaml').exists():
    raise ValueError(f'{logdir} is no run of train.py: it has no config.yaml.')
  c = config_lib.load_run(logdir / 'config.yaml')
  if c.skills == 'none':
    raise ValueError(f'{logdir} is a Dreamer run (skills: none): it has no skills to show.')
  if size and c.obs == 'pixels':
    raise ValueError(f'{logdir} is a run on pixels: its frames must keep their size {c.size}.')
  tf.random.set_seed(seed)  # The posterior samples its stochastic state.

  def make_envs(render):  # Alike: every env starts from the same state.
    return [envs_lib.make_env(
        c.task, obs=c.obs, action_repeat=c.action_repeat, time_limit=c.time_limit,
        size=tuple(size or c.size), seed=seed, render=render) for _ in range(skills)]

  envs = make_envs(render=True)
  try:
    obs_space = {k: v for k, v in envs[0].obs_space.items() if not k.startswith('log_')}
    agent = lsp.make_agent(c, obs_space, envs[0].act_space)
    act = skill_policy(agent, obs_space)
    obs = [env.reset() for env in envs]
    z = np.random.RandomState(seed).randn(skills, c.skill_dim).astype(np.float32)
    act(obs, None, z)  # Creates the variables of the modules used, for the restore to fill.
    tools.load_checkpoint(
        tf.train.Checkpoint(**agent.networks()), logdir / 'checkpoint', partial=True)
    frames, trace, basis = rollout(act, envs, obs, z, steps)
  finally:
    for env in envs:
      env.close()
  noise = sampled_spreads(
      skill_policy(agent, obs_space, sample=True), lambda: make_envs(render=c.obs == 'pixels'), z, steps)
  out.mkdir(parents=True, exist_ok=True)
  composites = [composite(f) for f in frames.transpose(1, 0, 2, 3, 4)]
  for index, image in enumerate(composites):
    imageio.imwrite(out / f'skill_{index}.png', image)
  columns = min(skills, 4)
  imageio.imwrite(out / 'skills.png', tile(composites, columns))
  video = np.stack([tile(step, columns) for step in frames])
  even = [(0, 0), (0, video.shape[1] % 2), (0, video.shape[2] % 2), (0, 0)]  # For H.264.
  video = np.pad(video, even, constant_values=255)
  imageio.mimsave(out / 'skills.mp4', list(video), fps=10, macro_block_size=1)
  stats = dict(
      spread=spread(trace[-1]),
      travel=float(np.linalg.norm(trace[-1] - trace[0], axis=-1).mean()),
      reach=float(np.linalg.norm(trace - trace[0], axis=-1).max()),
      **noise, diversity=noise['spread_sampled'] / max(noise['spread_one_skill'], 1e-12),
      basis=basis, skills=skills, steps=len(trace) - 1, seed=seed)
  (out / 'diversity.json').write_text(json.dumps(stats, indent=2) + '\n')
  plot_paths(trace, basis, stats, out / 'diversity.png', f'{c.task}, {c.method}')
  return stats


def spread(final):
  """Mean pairwise distance between the rollouts' final positions [N, D]."""
  distances = np.linalg.norm(final[:, None] - final[None], axis=-1)
  return float(distances.sum() / max(len(final) * (len(final) - 1), 1))


def sampled_spreads(act, make_envs, skills, steps):
  """With actions sampled from the actor: the spread of the different skills, and that of the
  first skill held by every rollout, i.e. what sampling noise alone spreads."""
  spreads = {}
  held = {'spread_sampled': skills, 'spread_one_skill': np.repeat(skills[:1], len(skills), 0)}
  for name, z in held.items():
    envs = make_envs()
    try:
      _, trace, _ = rollout(act, envs, [env.reset() for env in envs], z, steps, render=False)
    finally:
      for env in envs:
        env.close()
    spreads[name] = spread(trace[-1])
  return spreads


def skill_policy(agent, obs_keys, sample=False):
  """act(obs, state, skill) -> action, state, model features: the actor's mode (or a sample)
  under fixed skills [N, skill_dim] on the posterior state, as the agent's policy with
  training=False (True)."""

  def act(obs, state, skill):
    obs = {k: np.stack([o[k] for o in obs]) for k in obs_keys}
    if state is None:
      state = agent.initial_state(len(skill))
    action, feat, state = agent.act_with_skill(obs, state, skill, sample)
    return action.numpy(), state, feat.numpy()

  return act


def rollout(act, envs, obs, skills, steps, render=True):
  """Frames [T + 1, N, H, W, 3] (none without `render`), and positions or vectors [T + 1, N, D]
  and their name."""
  basis = next((k for k in (*POSITIONS, 'vector') if k in obs[0]), 'features')
  frames, trace, state, done = [], [], None, [False]
  for t in range(steps + 1):
    if render:
      frames.append([env.render() for env in envs])
    action, state, feat = act(obs, state, skills)
    trace.append(
        feat if basis == 'features' else
        [o[basis][-1, :2] if basis in POSITIONS else o[basis] for o in obs])
    if t == steps or any(done):
      break
    obs, _, done, _ = zip(*[env.step(a) for env, a in zip(envs, action)])
  return np.array(frames), np.array(trace, np.float64), basis


def composite(frames, count=8):
  """Fig. 7's composited image: `count` frames from first to last, each drawn over the background
  (the per-pixel median of all frames) where it differs from it, older frames fainter."""
  frames = frames.astype(np.float32)
  background = np.median(frames, 0)
  image = background
  indices = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
  for alpha, frame in zip(np.linspace(0.3, 1, len(indices)), frames[indices]):
    moving = np.abs(frame - background).sum(-1, keepdims=True) > 30
    image = np.where(moving, alpha * frame + (1 - alpha) * image, image)
  return image.round().astype(np.uint8)


def tile(images, columns, gap=2):
  """Images [N, H, W, 3] in a grid, row by row, on white."""
  images = np.asarray(images)
  rows = -(-len(images) // columns)
  height, width = images.shape[1] + gap, images.shape[2] + gap
  grid = np.full((rows * height - gap, columns * width - gap, 3), 255, np.uint8)
  for index, image in enumerate(images):
    row, column = divmod(index, columns)
    grid[row * height: row * height + image.shape[0],
         column * width: column * width + image.shape[1]] = image
  return grid


def plot_paths(trace, basis, stats, out, title):
  """The paths of all skills from their common start, a dot where each ends."""
  if basis not in POSITIONS:  # The first two principal components of all visited vectors.
    centered = trace - trace.reshape(-1, trace.shape[-1]).mean(0)
    axes = np.linalg.svd(centered.reshape(-1, trace.shape[-1]), full_matrices=False)[2][:2]
    trace, labels = centered @ axes.T, (f'{basis} PC 1', f'{basis} PC 2')
  else:
    labels = (f'{basis} x', f'{basis} y')
  fig = Figure(figsize=(6, 6), layout='constrained')
  ax = fig.subplots()
  colors = matplotlib.colormaps['tab10'].colors
  for index in range(trace.shape[1]):
    color = colors[index % len(colors)]
    ax.plot(*trace[:, index].T, color=color, linewidth=1.5, label=f'skill {index}')
    ax.scatter(*trace[-1, index], color=color, s=25, zorder=3)
  ax.scatter(*trace[0, 0], color='black', marker='s', s=40, zorder=4, label='start')
  ax.set_title(
      f'{title}: {stats["skills"]} skills, {stats["steps"]} steps\n'
      f'spread {stats["spread"]:.3g}, travel {stats["travel"]:.3g}, '
      f'diversity {stats["diversity"]:.3g}')
  ax.set_xlabel(labels[0])
  ax.set_ylabel(labels[1])
  ax.set_aspect('equal', adjustable='datalim')
  ax.grid(alpha=0.3)
  ax.legend(fontsize='small')
  fig.savefig(out, dpi=150)


def main(argv=None):
  parser = argparse.ArgumentParser(
      'python -m dreamer_lsp.visualize', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('logdir', type=pathlib.Path)
  parser.add_argument('--skills', type=int, default=8)
  parser.add_argument('--steps', type=int, default=40)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--out', type=pathlib.Path, help='default: LOGDIR/skills')
  parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'))
  args = parser.parse_args(argv)
  if args.skills < 1 or args.steps < 0:
    parser.error('--skills must be at least 1 and --steps at least 0.')
  out = args.out or args.logdir / 'skills'
  try:
    stats = visualize(args.logdir, out, args.skills, args.steps, args.seed, args.size)
  except (ValueError, tools.CheckpointError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  print(f'Wrote {out}: spread {stats["spread"]:.4g}, travel {stats["travel"]:.4g} '
        f'({stats["basis"]}), diversity {stats["diversity"]:.3g} (sampled spread of the skills '
        f'{stats["spread_sampled"]:.4g}, of one skill {stats["spread_one_skill"]:.4g}).')
  return 0


if __name__ == '__main__':
  sys.exit(main())
