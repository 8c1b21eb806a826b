"""The benchmark (bench/run.py) and the settings of its contenders; never imported by the app."""
