"""What the notebooks call: the seeds x settings grids of Tables 2-3 and Fig. 4 (``grid``)
and the exploration helpers of the notebooks (``browse``).

May import: every other stage (it is the last).
"""
