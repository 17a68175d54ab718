# Stage rules: stats (see docs/architecture.md for the conventions).
