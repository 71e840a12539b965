"""Answers that cannot fabricate.

``engine.ask`` (``core.chat``) retrieves; this package decides what may be said:

- ``question``: what a question asks (its key terms, the kind of answer it wants), in the
  languages of everyday speech Engram meets (English, German, French, Spanish, Portuguese);
- ``evidence``: the retrieved memories and observations cut into sentences, each marked with
  who said it and whether it states anything (questions, hypotheticals, assistants' and tools'
  words and text that speaks to an AI state nothing about the user);
- ``support``: whether the evidence answers the question at all (else Engram abstains), and
  which sentences answer it best, the newest correction first;
- ``extractive``: the answer made of those sentences, quoted, with their citations;
- ``check``: a model's answer is shown only when every number, date, name and key term in it is
  in what it cites; otherwise the extractive answer is shown instead.

Nothing here calls a model or the database: the functions take plain values.
"""
