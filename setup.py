from setuptools import find_packages, setup


def read_version():
    scope = {}
    with open('mmmaskreuse/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmmaskreuse',
    version=read_version(),
    description='MaskAnyNet and Conditional MAE as an OpenMMLab extension '
    '(classification, detection, segmentation)',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    python_requires='>=3.8',
    # torch and mmcv are left to the user (CUDA build, compiled ops);
    # `make install` pins the whole stack for CPU machines.
    install_requires=[
        'mmengine>=0.10.7,<0.11', 'mmpretrain>=1.2.0,<1.3',
        'mmdet>=3.3.0,<3.4', 'mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex'
    ],
    license='Apache License 2.0',
    zip_safe=False)
