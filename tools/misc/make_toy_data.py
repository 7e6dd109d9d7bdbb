"""Write the toy datasets (class folders, COCO, VOC, ADE20K layouts).

Example:
    python tools/misc/make_toy_data.py --out data/toy
"""
import argparse
import json

from mmmaskreuse.datasets.toy_data import MAKERS, make_toy_data


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/toy', help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--tasks', nargs='+', default=list(MAKERS), choices=list(MAKERS),
        help='which datasets to write')
    parser.add_argument(
        '--force', action='store_true',
        help='regenerate even if --out already holds the same toy data')
    return parser.parse_args()


def main():
    args = parse_args()
    manifest = make_toy_data(args.out, args.seed, args.tasks, args.force)
    print(f'toy data in {args.out}: {json.dumps(manifest["counts"])}')


if __name__ == '__main__':
    main()
