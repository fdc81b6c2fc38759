"""The rollout stage value object lives in the domain (``rampart.domain.stages``), so the risk
engine can check it without depending on the rollout rules; re-exported here for callers that
import it with the rest of the rollout rules."""

from rampart.domain.stages import OPEN_STAGE, Stage

__all__ = ["OPEN_STAGE", "Stage"]
