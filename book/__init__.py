"""The build that makes every derived form of the book from the English notebooks in `notebooks/`.

The six English notebooks are the one source: executed top to bottom, outputs stored, checked by
strict nbval. Everything else is made from them by ``python -m book``, never edited by hand:

- the Chinese edition, `notebooks/zh/` (its prose kept in the catalogues of `book/translations/`),
- the student and teacher editions of the classroom kit, and the lecture slides,
- the website.

Only the Chinese notebooks are committed; `tests/test_editions.py` proves they are exactly what the
build makes from today's source and catalogues. This package is the build, not the readers' code:
that is `companion`.
"""
