"""Tested, corrected code for the companion to 神经网络系统的创意创作技术.

One module per concept: `conv`, `backprop`, `rnn`, `cnn`, `gan`, `vae`, `data`, `plot`, ...
The helpers every notebook needs are re-exported here.
"""

from companion.env import default_device, env_report, seed_everything

__all__ = ["default_device", "env_report", "seed_everything"]
__version__ = "0.1.0"
