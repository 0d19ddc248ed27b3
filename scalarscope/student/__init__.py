"""The student: tokenizer, the default GRU model, and the protocol a replacement follows."""

from scalarscope.student.model import CharStudent, Generation
from scalarscope.student.protocol import Student
from scalarscope.student.tokenizer import ALPHABET, BOS, EOS, PAD, CharTokenizer


def default_student(*, seed: int = 0, width: int = 64, n_heads: int = 1) -> CharStudent:
    """The kit's default student: a width-64 GRU over the character alphabet."""
    return CharStudent(width=width, n_heads=n_heads, seed=seed)


__all__ = ["ALPHABET", "BOS", "EOS", "PAD", "CharStudent", "CharTokenizer", "Generation", "Student", "default_student"]
