"""The command-line options that mnist/train.py and ddp/train_ddp.py share (argparse only).

Each script builds its own ArgumentParser, then calls add_training_args() for the shared
options, adds its own, calls add_export_onnx(), and after parsing calls check_training_args().
The help texts that differ between the two scripts are parameters here, so each script's
--help stays as it was.
"""


def add_training_args(p, out_dir_help, batch_size_help=None, dropout_help=None):
    """Add --data-dir, --out-dir, --epochs, --batch-size, --lr, --train-samples, --test-samples,
    --seed and --dropout to the parser `p`, in that order."""
    p.add_argument("--data-dir", required=True, help="directory with the IDX files (optionally .gz)")
    p.add_argument("--out-dir", required=True, help=out_dir_help)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128, help=batch_size_help)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--train-samples", type=int, default=0, help="use the first N training samples (0 = all)")
    p.add_argument("--test-samples", type=int, default=0, help="use the first N test samples (0 = all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0, help=dropout_help)


def add_export_onnx(p, help):
    """Add --export-onnx. It is separate from add_training_args() because train_ddp.py lists
    its own options before it."""
    p.add_argument("--export-onnx", action="store_true", help=help)


def check_training_args(p, args):
    """Reject the shared options' impossible values through p.error() (exit code 2)."""
    if args.epochs < 1:
        p.error("--epochs must be >= 1")
    if args.batch_size < 1:
        p.error("--batch-size must be >= 1")
    if args.lr <= 0:
        p.error("--lr must be > 0")
