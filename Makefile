# make install : set up .venv with the pinned stack (idempotent)
# make demo    : toy data -> train a classifier -> test it, on CPU (< 10 min)
# make test    : the whole test suite (sets up first if needed)
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CONFIG := configs/baselines/toy/resnet18_toy_cls.py
DEMO_DIR := work_dirs/demo

.PHONY: install demo test toy-data

install:
	VENV=$(VENV) bash tools/misc/install.sh

toy-data: install
	$(PY) tools/misc/make_toy_data.py --out data/toy

demo: toy-data
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_DIR)/last_checkpoint) \
		--work-dir $(DEMO_DIR) | tee $(DEMO_DIR)/test.log
	@grep -o 'accuracy/top1: [0-9.]*' $(DEMO_DIR)/test.log | tail -n 1 \
		| sed 's/^/demo result (toy val, 4 classes, chance 25%): /'

test: install
	$(PY) -m pytest tests -v --durations=15
