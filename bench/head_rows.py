"""head_rows.py SRC N DST: the header and first N rows of a Kaggle CSV
(training.csv, or the CSV inside a zip such as training.zip) into DST, so
that the sides of a benchmark train on the same faces."""
import io
import sys
import zipfile


def main():
    src, n, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if src.endswith(".zip"):
        z = zipfile.ZipFile(src)
        member = [m for m in z.namelist() if m.endswith(".csv")][0]
        f = io.TextIOWrapper(z.open(member), newline="")
    else:
        f = open(src, newline="")
    with f, open(dst, "w", newline="") as out:
        for i, line in enumerate(f):
            if i > n:
                break
            out.write(line)


if __name__ == "__main__":
    main()
