"""model-index.yml and the metafiles it imports (OpenMMLab's format, read by
``mim search`` and by mmengine's ``package::`` config lookup) list every
recipe under configs/, once, with its task and dataset."""
import glob
import os.path as osp
import re

import yaml

from tests.conftest import REPO


def indexed_models():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    models, collections = [], set()
    for metafile in imports:
        with open(osp.join(REPO, metafile)) as f:
            meta = yaml.safe_load(f)
        collections |= {c['Name'] for c in meta['Collections']}
        models += meta['Models']
    return models, collections


def test_every_recipe_is_in_the_model_index_once():
    models, collections = indexed_models()
    recipes = sorted(
        osp.relpath(path, REPO)
        for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                              recursive=True) if '/_base_/' not in path)
    listed = [model['Config'] for model in models]
    assert sorted(listed) == recipes
    names = [model['Name'] for model in models]
    assert len(set(names)) == len(names)
    for model in models:
        assert model['In Collection'] in collections, model['Name']
        assert model['Metadata']['Training Data'], model['Name']
        results = model['Results']
        assert results and all(r['Task'] and r['Dataset'] for r in results)
        # a figure is only listed with the machine that measured it
        if any(r['Metrics'] for r in results):
            assert model['Metadata']['Training Resources'], model['Name']
        # none published yet; one that is names where it is downloaded
        weights = model.get('Weights')
        assert weights is None or re.match(r'https?://', weights)
