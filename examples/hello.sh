#!/bin/bash
echo "hello from bash $BASH_VERSION"
