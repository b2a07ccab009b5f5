#!/bin/sh
# oplay lab: like Debian's docker images, packages never start services on
# install; playbooks start them with `service NAME start`.
exit 101
