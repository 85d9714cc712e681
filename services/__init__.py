"""Work the dashboard asks for that needs no Streamlit: where checkpoints live (catalog),
hosting rules (hosting), who owns what and the quotas (ownership), the Train form's configs
(training), and runs and map fits as jobs in worker processes with their queue (jobs).
Never imports streamlit or the dashboard (pyproject.toml's import-linter contracts)."""
