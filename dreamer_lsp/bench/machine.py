"""The machine measured and the code measured."""
import os
import pathlib
import platform
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def machine():
  cpu = re.search(r'model name\s*:\s*(.*)', pathlib.Path('/proc/cpuinfo').read_text())
  return dict(
      nproc=os.cpu_count(), cpu=cpu.group(1) if cpu else platform.processor(),
      python=platform.python_version(), load_average_start=os.getloadavg())


def commit():
  try:
    return subprocess.run(
        ['git', 'describe', '--always', '--dirty'], cwd=REPO, capture_output=True, text=True,
        check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return 'unknown (not a git checkout)'
