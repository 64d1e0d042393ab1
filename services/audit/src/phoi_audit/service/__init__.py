"""Application services: recording events, verifying the chain, checkpoints, exports."""
