"""GLIDE fine-tuning on the workspace's real images: splits, data, runs, the training loop, previews.

Connects the engine in ``dermstudy.glide`` to a workspace; Qt-free. Entry point: ``loop.train``.
"""
