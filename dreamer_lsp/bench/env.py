"""Measurements that need no agent: the simulator's speed, the bytes of a stored env step, and
pixel collection with render workers."""
import tempfile
import time

from dreamer_lsp import envs
from dreamer_lsp.bench import timing
from dreamer_lsp.envs import bench as env_bench


def simulator(task, steps, repeats):
  """Agent steps per second with random actions, features in-process, action repeat 2."""
  return timing.stats([env_bench.measure(task, 'features', steps) for _ in range(repeats)])


def storage(task, obs, time_limit):
  """One episode of random actions stored as train.py stores it: bytes per env step on disk
  (compressed .npz) and in the replay's memory; also the collection rate (pixels: a worker)."""
  import tools
  from dreamer_lsp import agent
  env = envs.make_env(task, obs=obs, time_limit=time_limit)
  episodes = []
  start = time.perf_counter()
  tools.simulate(agent.random_policy(env.act_space, 0), [env], episodes=1,
                 on_episode=[episodes.append])
  duration = time.perf_counter() - start
  env.close()
  episode = episodes[0]
  steps = tools.episode_length(episode)
  with tempfile.TemporaryDirectory() as directory:
    size = tools.save_episode(directory, episode).stat().st_size
  return dict(
      steps=steps, collect_steps_per_s=steps / duration, bytes_per_step_disk=size / steps,
      bytes_per_step_memory=sum(v.nbytes for v in episode.values()) / steps)


def collection(task, workers, steps, time_limit):
  """Env steps per second of pixel collection with random actions in `workers` envs, each
  rendering in its own worker process, as train.py's `envs: N` does; and the cores that this
  process and the workers kept busy meanwhile, which bound what more workers can add."""
  import tools
  from dreamer_lsp import agent
  envs_ = [envs.make_env(task, obs='pixels', time_limit=time_limit, seed=seed)
           for seed in range(workers)]
  policy = agent.random_policy(envs_[0].act_space, 0)
  tools.simulate(policy, envs_, steps=workers)  # Starts the workers' renderers.
  cpu = lambda: time.process_time() + sum(timing.cpu_seconds(env.pid) for env in envs_)
  cpu_start, start = cpu(), time.perf_counter()
  tools.simulate(policy, envs_, steps=steps)
  duration, cpu_s = time.perf_counter() - start, cpu() - cpu_start
  for env in envs_:
    env.close()
  return dict(steps_per_s=steps / duration, cores_busy=cpu_s / duration)
