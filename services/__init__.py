"""Work the dashboard asks for that needs no Streamlit: where checkpoints live (catalog),
hosting rules (hosting), who owns what and the quotas (ownership), training jobs and their
queue (training, train_queue). Never imports streamlit or the dashboard (pyproject.toml's
import-linter contracts)."""
