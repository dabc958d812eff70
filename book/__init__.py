"""The build that makes every derived form of the book from the English notebooks in `notebooks/`.

The six English notebooks are the one source: executed top to bottom, outputs stored, checked by
strict nbval. Everything else is made from them by ``python -m book``, never edited by hand:

- the Chinese edition, `notebooks/zh/` (its prose kept in the catalogues of `book/translations/`),
- the student and teacher editions of the classroom kit (an nbgrader course), the lecture slides and
  the lesson plans,
- the website.

Of these only the Chinese notebooks and the lesson plans (`classroom/lesson-plans/`) are committed;
`tests/test_editions.py` and `tests/test_lesson_plans.py` prove they are exactly what the build makes from
today's source. The classroom kit (`classroom`), the slides (`slides`) and the lesson plans (`lessons`)
read the notebooks' structure and exercise markup through `structure`. This package is the build, not
the readers' code: that is `companion`.
"""
