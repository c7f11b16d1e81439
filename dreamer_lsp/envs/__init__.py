"""Environments behind one gym-style interface: dm_control suite tasks, the paper's custom
quadruped tasks, a tiny point task and gymnasium envs. See make_env."""

from .gym_adapter import GymAdapter
from .registry import TASKS, check_task, make_env, wrap
from .rewards import SUCCESS, relabel, relabel_episodes, succeeded
