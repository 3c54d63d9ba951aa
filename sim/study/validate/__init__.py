"""``tierlab validate``: the model against the stylised facts of returns and the market figures of
liquidations and leverage, over many seeds, as a Markdown and HTML report with figures and CSV.

``references`` holds what the real market shows and its sources, ``experiments`` what runs,
``statistics`` what is measured of each run, ``table`` and ``figures`` the results over seeds, and
``report.write_validation`` writes them. Nothing is imported here, so the command line can read the
references without loading the model.
"""
