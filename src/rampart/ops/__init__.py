"""Operations adapters: logging, metrics, alerts, supervisor."""
