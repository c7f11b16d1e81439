"""One agent's update, its parts (world model, training CEM), FLOPs and acting, each agent in a
fresh process, so that peak RSS and XLA state belong to one agent."""
import concurrent.futures
import multiprocessing
import os
import resource
import time

import numpy as np

from dreamer_lsp import config as config_lib
from dreamer_lsp import envs
from dreamer_lsp.bench import timing

METHODS = ('dreamer', 'lsp')
SIZES = (
    'batch_size', 'batch_length', 'horizon', 'deter_size', 'stoch_size', 'num_units', 'mlp_units',
    'obs', 'action_repeat', 'skill_duration', 'plan_horizon', 'cem_iters', 'cem_population',
    'cem_train_starts', 'jit_policy')


def build_config(presets, method, task, jit, **overrides):
  return config_lib.build([*presets, method], dict(task=task, jit=jit, **overrides))


def random_agent(presets, method, task, jit, **overrides):
  """The config, an agent (its first update creates its variables), the observation space and
  a random training batch of the task's shapes."""
  import tensorflow as tf
  from dreamer_lsp import lsp
  c = build_config(presets, method, task, jit, **overrides)
  env = envs.make_env(task, obs=c.obs, size=tuple(c.size))
  obs_space = {k: v for k, v in env.obs_space.items() if not k.startswith('log_')}
  act_space = env.act_space
  env.close()
  rng = np.random.RandomState(0)
  shape = (c.batch_size, c.batch_length)
  batch = {k: _random(space, shape, rng) for k, space in obs_space.items()}
  batch.update(
      action=rng.uniform(-1, 1, shape + act_space.shape).astype(np.float32),
      reward=rng.randn(*shape).astype(np.float32), discount=np.ones(shape, np.float32))
  batch = {k: tf.constant(v) for k, v in batch.items()}
  agent = lsp.make_agent(c, obs_space, act_space)
  return c, agent, obs_space, batch


def cem_starts(c, agent):
  """Random latent states, as many as the training CEM plans from in one update."""
  import tensorflow as tf
  starts = c.batch_size * c.batch_length
  count = min(c.cem_train_starts or starts, starts)
  latent = {k: tf.random.normal((count, v.shape[-1]))
            for k, v in agent.initial_state(1)['latent'].items()}
  latent['std'] = tf.abs(latent['std']) + 0.1
  return latent


def training_cem(agent, jit):
  """The training CEM alone, from a batch of start states to its planned skills."""
  import tensorflow as tf
  return tf.function(lambda start: agent.cem(start, groups=1)[0], jit_compile=jit)


def in_child(function, *args):
  """Runs function(*args) in a fresh spawned process and returns its result."""
  context = multiprocessing.get_context('spawn')
  with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
    return pool.submit(function, *args).result()


def agent_bench(presets, method, task, jit, repeats, peak_size):
  """Update, its parts, FLOPs, acting and peak RSS of one agent (run in a fresh process), and
  the matmul peak under the same load from other processes."""
  import tensorflow as tf
  result = dict(
      load_average=os.getloadavg()[0], peak=timing.matmul_peak(peak_size, repeats, False))
  c, agent, obs_space, batch = random_agent(presets, method, task, jit)
  update = lambda: float(agent.train(batch)['model_loss'])
  start = time.perf_counter()
  update()  # Creates the variables, eagerly;
  update()  # traces and (with jit) compiles.
  result['first_update_s'] = time.perf_counter() - start
  traced = agent.compiled_train.experimental_get_tracing_count()
  _timed(result, 'update', update, repeats)
  result['gflop'] = _flops(agent.compiled_train, batch) / 1e9
  result['gflops_per_s'] = result['gflop'] / result['update_s']['median']
  result['gflop_per_cpu_s'] = result['gflop'] / result['update_cpu_s']['median']
  result['fraction_of_peak'] = result['gflops_per_s'] / result['peak']['gflops']['median']
  result['cpu_fraction_of_peak'] = (
      result['gflop_per_cpu_s'] / result['peak']['gflop_per_cpu_s']['median'])
  starts = c.batch_size * c.batch_length
  imagined = starts * c.horizon
  # The world model's update alone; the behaviour is the rest.
  model = tf.function(agent.train_model, jit_compile=c.jit)
  _timed(result, 'model', lambda: float(model(batch)['model_loss']), repeats)
  result['model_gflop'] = _flops(model, batch) / 1e9
  if c.skills == 'cem':
    latent = cem_starts(c, agent)
    imagined += c.cem_iters * c.cem_population * latent['std'].shape[0] * c.plan_horizon
    cem = training_cem(agent, c.jit)
    _timed(result, 'cem', lambda: cem(latent).numpy(), repeats)
    result['cem_gflop'] = _flops(cem, latent) / 1e9
    # Acting replans from one env's state: the floor of `replan` ms at the machine's peak.
    result['replan_gflop'] = _flops(cem, {k: v[:1] for k, v in latent.items()}) / 1e9
  result['imagined_per_update'] = imagined
  result['imagined_per_s'] = imagined / result['update_s']['median']
  result['act_ms'], policy_retraces = _acting(agent, obs_space, c, repeats)
  # Traces after the first call: a timing that includes tracing would be wrong.
  result['retraces'] = dict(
      train=agent.compiled_train.experimental_get_tracing_count() - traced, policy=policy_retraces)
  result['peak_rss_gib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
  return result


def _timed(result, name, fn, repeats):
  wall, cpu = timing.timeit(fn, repeats)
  result[f'{name}_s'], result[f'{name}_cpu_s'] = timing.stats(wall), timing.stats(cpu)


def _random(space, shape, rng):
  if space.dtype == np.uint8:
    return rng.randint(0, 256, shape + space.shape).astype(np.uint8)
  return rng.randn(*shape, *space.shape).astype(space.dtype)


def _flops(function, *args):
  """Float operations of a tf.function's graph (the graph XLA compiles), as TF's profiler counts
  them (matmuls, convolutions), over the ops that the outputs and side effects depend on: TF's
  gradients also build ops that Grappler and XLA prune, such as the weight gradients of the
  networks a loss backpropagates through but does not train."""
  import tensorflow as tf
  graph = function.get_concrete_function(*args).graph
  profiler = tf.compat.v1.profiler
  options = dict(profiler.ProfileOptionBuilder.float_operation(), output='none')
  nodes, flops = [profiler.profile(graph, options=options)], {}
  while nodes:
    node = nodes.pop()
    flops[node.name] = node.float_ops
    nodes.extend(node.children)
  needed, ops = set(), [t.op for t in graph.outputs] + list(graph.control_outputs)
  while ops:
    op = ops.pop()
    if op.name not in needed:
      needed.add(op.name)
      ops.extend([t.op for t in op.inputs] + list(op.control_inputs))
  return sum(flops.get(name, 0) for name in needed)


def _acting(agent, obs_space, c, repeats):
  """Policy ms per env step, batch 1, over `repeats` windows of K steps after one warm-up
  window; LSP replans with CEM on the first step of each window (its skill counter is 0). And
  how often the policy was traced again after its first step."""
  rng = np.random.RandomState(1)
  steps = c.skill_duration
  state, times = None, []
  for step in range((repeats + 1) * steps):
    obs = {k: _random(space, (1,), rng) for k, space in obs_space.items()}
    start = time.perf_counter()
    _, _, state = agent.policy(obs, np.zeros(1, bool), state, training=True)
    times.append(1000 * (time.perf_counter() - start))
    if step == 0:
      traced = agent.act.experimental_get_tracing_count()
  windows = np.array(times[steps:]).reshape(repeats, steps)
  result = dict(step=timing.stats(windows.mean(1)))
  if c.skills == 'cem':
    result.update(
        replan=timing.stats(windows[:, 0]), no_replan=timing.stats(windows[:, 1:].ravel()))
  return result, agent.act.experimental_get_tracing_count() - traced
