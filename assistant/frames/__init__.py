"""Question understanding: typing slips repaired (`spelling`) and capitals back for questions typed in
lower case (`casing`), entity linking
(`lexicon`), the operation decision (`operations`) and the typed question frame with follow-up
merging (`frame`)."""

from assistant.frames.frame import Frame, FrameParser, Target, about_the_earlier_topic, is_follow_up, points_back
from assistant.frames.lexicon import Lexicon, fold_text, tokens
from assistant.frames.operations import OperationClassifier, load_bank

__all__ = ["Frame", "FrameParser", "Lexicon", "OperationClassifier", "Target", "about_the_earlier_topic", "fold_text", "is_follow_up", "load_bank", "points_back", "tokens"]
