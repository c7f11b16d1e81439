"""Memory over a long run: a finished train.py run's resident memory against its replay's."""
import pathlib

import numpy as np

from dreamer_lsp import config as config_lib


def memory(logdir, figure):
  """From a train.py logdir: resident memory against the replay's own size over the run, and
  the growth of the rest (RSS - replay) over the second half, fitted by least squares."""
  from dreamer_lsp import plot
  logdir = pathlib.Path(logdir)
  metrics = plot.load_metrics(logdir)
  needed = {'rss_mb', 'replay_mb', 'process_hours'}
  if metrics.empty or not needed <= set(metrics.columns):
    raise SystemExit(f'{logdir}/metrics.jsonl has no {sorted(needed)}: not a train.py run.')
  rows = metrics.dropna(subset=sorted(needed))
  steps, rss, replay = (rows[k].to_numpy(float) for k in ('step', 'rss_mb', 'replay_mb'))
  rest = rss - replay
  late = steps >= steps[-1] / 2
  slope = np.polyfit(steps[late], rest[late], 1)[0] if late.sum() > 2 else float('nan')
  config = config_lib.load_yaml(logdir / 'config.yaml')
  defaults = config_lib.build([], {})
  changed = {k: v for k, v in config.items() if k != 'logdir' and defaults.get(k) != v}
  from matplotlib.figure import Figure
  fig = Figure(figsize=(6, 3.5), tight_layout=True)
  ax = fig.add_subplot()
  for values, label in ((rss, 'resident (rss_mb)'), (replay, 'replay arrays (replay_mb)'),
                        (rest, 'resident - replay')):
    ax.plot(steps, values, label=label)
  ax.set(xlabel='env frames', ylabel='MiB', title=f'{config["method"]} on {config["task"]}')
  ax.legend()
  figure.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(figure, dpi=100)
  return dict(
      logdir=str(logdir), config=changed, frames=int(steps[-1]),
      hours=float(rows['process_hours'].iloc[-1]), done=(logdir / 'done').exists(),
      rss_mb=dict(first=rss[0], middle=float(np.interp(steps[-1] / 2, steps, rss)),
                  last=rss[-1], max=rss.max()),
      replay_mb=dict(first=replay[0], last=replay[-1]),
      rest_growth_mb_per_100k_frames=float(slope * 1e5), figure=str(figure))
