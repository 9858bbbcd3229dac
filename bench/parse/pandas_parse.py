"""Parse Kaggle's training.csv the way the usual Python notebooks do.

pandas.read_csv for the table, then numpy.fromstring(img, sep=' ') on every
Image field, stacked into an (n, 96, 96) array. Prints the seconds the parse
took (imports excluded) on one line: "pandas SECONDS ROWS".

Usage: /usr/bin/python3 pandas_parse.py training.csv
"""
import sys
import time

import numpy as np
import pandas as pd


def main():
    path = sys.argv[1]
    start = time.perf_counter()
    df = pd.read_csv(path)
    images = np.vstack([np.fromstring(img, sep=' ') for img in df['Image']])
    images = images.reshape(-1, 96, 96).astype(np.uint8)
    coords = df.drop(columns=['Image']).to_numpy(dtype=np.float32)
    elapsed = time.perf_counter() - start
    assert images.shape[0] == coords.shape[0] == len(df)
    print(f"pandas {elapsed:.3f} {len(df)}")


if __name__ == '__main__':
    main()
