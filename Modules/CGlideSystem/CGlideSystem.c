#include "CGlideSystem.h"
