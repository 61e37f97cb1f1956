"""Kubernetes API server emulator for end-to-end tests (entry point: ../kube_emulator.py)."""
