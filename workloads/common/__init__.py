"""Shared helpers for the MLV training workloads (numpy + torch + stdlib only)."""
