class UnparseableDocument(Exception):
    """The bytes cannot become text; the message is the reason shown to the operator."""

    @property
    def reason(self) -> str:
        return str(self)
